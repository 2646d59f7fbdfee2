# vitis_hls -f hls_synth.tcl -tclargs <project> [part] [clock MHz]   (inside the project dir)
source [file join [file dirname [info script]] common.tcl]
set project [lindex $argv 0]
set part [lindex $argv 1]
set clock_mhz [lindex $argv 2]
lassign [qt_open $project $part $clock_mhz] part period
puts "qtransformer: HLS synthesis of $project for $part at period $period ns"
csynth_design
export_design -format ip_catalog
file mkdir reports
foreach f [glob -nocomplain ${project}_prj/solution1/syn/report/*.xml ${project}_prj/solution1/syn/report/*.rpt] {
    file copy -force $f reports
}
exit
