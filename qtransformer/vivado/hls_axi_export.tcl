# vitis_hls -f hls_axi_export.tcl -tclargs <project> [clock MHz]   (inside the project dir)
# The board wrapper (axi/<project>_axi.cpp: AXI4-Stream in and out, s_axilite control)
# synthesised in its own HLS project and packaged as Vivado IP for bitstream.tcl:
# <project>_axi_prj/solution1/impl/ip, VLNV xilinx.com:hls:<project>_axi:1.0.
source [file join [file dirname [info script]] common.tcl]
set project [lindex $argv 0]
if {![file exists axi/${project}_axi.cpp]} {
    puts "qtransformer: axi/${project}_axi.cpp missing; rebuild the project with qtransformer"
    exit 1
}
lassign [qt_open $project "" [lindex $argv 1] axi] part period
puts "qtransformer: HLS synthesis of the board wrapper ${project}_axi for $part at $period ns"
csynth_design
qt_export
file mkdir reports/axi
foreach f [glob -nocomplain ${project}_axi_prj/solution1/syn/report/${project}_axi_csynth.*] {
    file copy -force $f reports/axi
}
puts "qtransformer: IP exported to ${project}_axi_prj/solution1/impl/ip"
exit
