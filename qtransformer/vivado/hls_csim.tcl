# vitis_hls -f hls_csim.tcl -tclargs <project> [core|axi]   (run inside the hls4ml project dir)
# core: hls4ml's testbench of the top function; axi: the board wrapper's (axi/axi_test.cpp).
source [file join [file dirname [info script]] common.tcl]
set project [lindex $argv 0]
set top [lindex $argv 1]
if {$top eq ""} { set top core }
qt_open $project "" "" $top
csim_design
exit
