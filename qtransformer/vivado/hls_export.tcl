# vitis_hls -f hls_export.tcl -tclargs <project>   (after make synth; inside the project dir)
# Packages the synthesised solution as Vivado IP (impl/ip/*.zip) for block designs/bitstreams.
source [file join [file dirname [info script]] common.tcl]
set project [lindex $argv 0]
if {![file exists ${project}_prj/solution1/syn/verilog/${project}.v]} {
    puts "qtransformer: no HLS synthesis result in ${project}_prj/solution1; run make synth first"
    exit 1
}
# Reopen without -reset: the solution's csynth result is what gets packaged.
open_project ${project}_prj
open_solution "solution1"
qt_export
puts "qtransformer: IP exported to ${project}_prj/solution1/impl/ip"
exit
