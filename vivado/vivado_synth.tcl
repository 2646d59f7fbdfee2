# vivado -mode batch -source vivado_synth.tcl -tclargs <project> [part] [clock MHz]
# Out-of-context synthesis of the HLS RTL; utilization and timing reports go to reports/.
source [file join [file dirname [info script]] common.tcl]
set project [lindex $argv 0]
set part [lindex $argv 1]
set clock_mhz [lindex $argv 2]
lassign [qt_project_config $project] def_part period
if {$part eq ""} { set part $def_part }
if {$clock_mhz ne ""} { set period [expr {1000.0 / $clock_mhz}] }
set rtl ${project}_prj/solution1/syn/verilog
foreach f [glob -nocomplain $rtl/*.v] { read_verilog $f }
foreach f [glob -nocomplain $rtl/*.tcl] { source $f }
synth_design -top $project -part $part -mode out_of_context
create_clock -period $period -name ap_clk [get_ports ap_clk]
file mkdir reports
report_utilization -file reports/vivado_utilization.rpt
report_timing_summary -file reports/vivado_timing.rpt
exit
