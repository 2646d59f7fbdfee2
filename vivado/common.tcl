# Shared by hls_csim.tcl / hls_synth.tcl: open the HLS project of an hls4ml output directory.
# Arguments: project name (top function), FPGA part, clock in MHz (empty: from the project).

proc qt_project_config {project} {
    # The part and clock hls4ml wrote into project.tcl (set part / set clock_period).
    set part "xc7z020clg400-1"
    set period 10
    if {[file exists project.tcl]} {
        set fh [open project.tcl r]
        set text [read $fh]
        close $fh
        regexp {set part "([^"]+)"} $text -> part
        regexp {set clock_period ([0-9.]+)} $text -> period
    }
    return [list $part $period]
}

proc qt_open {project part clock_mhz} {
    lassign [qt_project_config $project] def_part def_period
    if {$part eq ""} { set part $def_part }
    set period $def_period
    if {$clock_mhz ne ""} { set period [expr {1000.0 / $clock_mhz}] }
    set cflags "-std=c++0x"
    open_project -reset ${project}_prj
    set_top $project
    add_files firmware/${project}.cpp -cflags $cflags
    add_files -tb ${project}_test.cpp -cflags "$cflags -DWEIGHTS_DIR=\"firmware/weights\""
    add_files -tb firmware/weights
    add_files -tb tb_data
    open_solution -reset "solution1"
    set_part $part
    create_clock -period $period -name default
    return [list $part $period]
}
