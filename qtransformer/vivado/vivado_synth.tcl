# vivado -mode batch -source vivado_synth.tcl -tclargs <project> [part] [clock MHz]
# Out-of-context synthesis of the HLS RTL; utilization and timing reports go to reports/.
source [file join [file dirname [info script]] vivado_common.tcl]
set project [lindex $argv 0]
lassign [qt_vivado_synth $project [lindex $argv 1] [lindex $argv 2]] part period
puts "qtransformer: Vivado OOC synthesis of $project for $part at $period ns"
report_utilization -file reports/vivado_synth_utilization.rpt
report_timing_summary -file reports/vivado_synth_timing.rpt
exit 0
