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
if {[catch {export_design -format ip_catalog} msg]} {
    # HLS <= 2021.2 derives the IP revision from the date, which overflows since 2022-01-01
    # ("bad lexical cast"); Xilinx's fix is a patch, nothing a script option can avoid.
    puts "qtransformer: export_design failed ([string map {\n { }} $msg]); if the log says\
          'bad lexical cast', apply the Y2K22 patch of Xilinx AR 76960 to this HLS install"
    exit 1
}
puts "qtransformer: IP exported to ${project}_prj/solution1/impl/ip"
exit
