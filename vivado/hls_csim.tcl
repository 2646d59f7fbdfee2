# vitis_hls -f hls_csim.tcl -tclargs <project>   (run inside the hls4ml project directory)
source [file join [file dirname [info script]] common.tcl]
set project [lindex $argv 0]
qt_open $project "" ""
csim_design
exit
