# vivado -mode batch -source vivado_impl.tcl -tclargs <project> [part] [clock MHz]
# Out-of-context synthesis, then place and route: post-route utilization and timing in reports/.
source [file join [file dirname [info script]] vivado_common.tcl]
set project [lindex $argv 0]
lassign [qt_vivado_synth $project [lindex $argv 1] [lindex $argv 2]] part period
puts "qtransformer: Vivado OOC implementation of $project for $part at $period ns"
opt_design
place_design
route_design
report_utilization -file reports/vivado_impl_utilization.rpt
report_utilization -hierarchical -file reports/vivado_impl_utilization_hier.rpt
report_timing_summary -file reports/vivado_impl_timing.rpt
exit 0
