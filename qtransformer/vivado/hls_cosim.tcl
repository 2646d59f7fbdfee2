# vitis_hls -f hls_cosim.tcl -tclargs <project> [samples=5] [part] [clock MHz]   (project dir)
# C/RTL co-simulation (xsim) of the synthesised design on the first N tb_data samples. The
# trimmed data and the RTL results go to cosim_tb/tb_data/ (layout of a project dir, with
# firmware/defines.h for the output LSB), so tbcheck.py cosim_tb --results
# rtl_cosim_results.log compares them; the user's tb_data/ is only read.
source [file join [file dirname [info script]] common.tcl]
set project [lindex $argv 0]
set n [lindex $argv 1]
if {$n eq ""} { set n 5 }
lassign [qt_target $project [lindex $argv 2] [lindex $argv 3]] part period

proc qt_head {src dst n} {
    # First n non-empty lines of src (one sample a line) into dst.
    set in [open $src r]
    set out [open $dst w]
    while {$n > 0 && [gets $in line] >= 0} {
        if {[string trim $line] eq ""} { continue }
        puts $out $line
        incr n -1
    }
    close $in
    close $out
}

file delete -force cosim_tb
file mkdir cosim_tb/tb_data cosim_tb/firmware
foreach f {tb_input_features.dat tb_output_predictions.dat} {
    qt_head tb_data/$f cosim_tb/tb_data/$f $n
}
if {[file exists firmware/defines.h]} { file copy firmware/defines.h cosim_tb/firmware }

# -reset on the *project* only clears its file list (UG1399: solution directories are kept),
# which is needed to swap tb_data for cosim_tb/tb_data: HLS has no command to remove a file,
# and two test-bench folders both named tb_data would collide in the simulation directory.
# The solution is reopened without -reset, so its csynth result is reused.
open_project -reset ${project}_prj
qt_add_sources $project cosim_tb/tb_data "-DRTL_SIM"
if {[file exists ${project}_prj/solution1/syn/verilog/${project}.v]} {
    open_solution "solution1"
} else {
    puts "qtransformer: no csynth result in ${project}_prj/solution1; synthesising first"
    open_solution -reset "solution1"
    qt_solution_config $part $period
    csynth_design
}
cosim_design -tool xsim -trace_level none

# With RTL_SIM the test bench writes tb_data/rtl_cosim_results.log relative to where HLS runs
# it: sim/wrapc (C run producing the vectors) and sim/wrapc_pc (post-check run fed with the
# RTL outputs). HLS links or copies the tb folder there, so take the newest copy we find.
# Candidates in order of preference; on equal mtimes the earlier one wins.
set sim ${project}_prj/solution1/sim
set logs [glob -nocomplain cosim_tb/tb_data/rtl_cosim_results.log \
              $sim/wrapc_pc/tb_data/rtl_cosim_results.log $sim/wrapc/tb_data/rtl_cosim_results.log \
              $sim/*/tb_data/rtl_cosim_results.log]
set newest ""
foreach f $logs {
    if {$newest eq "" || [file mtime $f] > [file mtime $newest]} { set newest $f }
}
if {$newest eq ""} {
    puts "qtransformer: cosim wrote no rtl_cosim_results.log (is RTL_SIM in the test bench?)"
    exit 1
}
if {[file normalize $newest] ne [file normalize cosim_tb/tb_data/rtl_cosim_results.log]} {
    file copy -force $newest cosim_tb/tb_data/rtl_cosim_results.log
}
puts "qtransformer: RTL results of $n samples in cosim_tb/tb_data/rtl_cosim_results.log"
exit
