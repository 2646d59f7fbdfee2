# vitis_hls -f hls_synth.tcl -tclargs <project> [part] [clock MHz]   (inside the project dir)
# C synthesis only. No export_design: Vivado synthesises the RTL out of context straight from
# syn/verilog, and Vivado HLS 2020.1's export fails on the Y2K22 bug (see hls_export.tcl).
source [file join [file dirname [info script]] common.tcl]
set project [lindex $argv 0]
lassign [qt_open $project [lindex $argv 1] [lindex $argv 2]] part period
puts "qtransformer: HLS synthesis ([qt_flavour] HLS) of $project for $part at $period ns"
csynth_design
# csynth.rpt/.xml plus the per-module <module>_csynth.rpt/.xml, for qtransformer.hls.reports.
file mkdir reports
foreach f [glob -nocomplain ${project}_prj/solution1/syn/report/*.xml \
               ${project}_prj/solution1/syn/report/*.rpt] {
    file copy -force $f reports
}
exit
