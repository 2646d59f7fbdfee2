# vitis_hls -f hls_csim.tcl -tclargs <project> [core|axi]   (run inside the hls4ml project dir)
# core: hls4ml's testbench of the top function; axi: the board wrapper's (axi/axi_test.cpp).
# HLS runs the testbench in <hls project>/solution1/csim/build on a copy of tb_data, so its
# results are copied back into tb_data/ for tbcheck.py (and stale ones removed first).
source [file join [file dirname [info script]] common.tcl]
set project [lindex $argv 0]
set top [lindex $argv 1]
if {$top eq ""} { set top core }
set results [expr {$top eq "axi" ? {axi_csim_results.log axi_input_words.log \
                                    axi_output_words.log} : {csim_results.log}}]
foreach f $results { file delete -force tb_data/$f }
qt_open $project "" "" $top
csim_design
set build [qt_hls_project $project $top]/solution1/csim/build/tb_data
foreach f $results {
    if {![file exists $build/$f]} {
        puts "qtransformer: C simulation wrote no $build/$f; see its log"
        exit 1
    }
    file copy -force $build/$f tb_data/$f
}
exit
