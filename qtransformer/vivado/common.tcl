# Shared by the hls_*.tcl scripts (and, for qt_target, by vivado_common.tcl): open the HLS
# project of an hls4ml output directory. Arguments: project name (top function), FPGA part,
# clock in MHz (empty: the values hls4ml wrote into project.tcl).

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

proc qt_target {project part clock_mhz} {
    # {part period_ns}: the command-line values where given, else project.tcl's.
    lassign [qt_project_config $project] def_part period
    if {$part eq ""} { set part $def_part }
    if {$clock_mhz ne ""} { set period [expr {1000.0 / $clock_mhz}] }
    return [list $part $period]
}

proc qt_flavour {} {
    # "vivado" (Vivado HLS <= 2020.1) or "vitis" (Vitis HLS). The Makefile knows which binary it
    # launched and says so in $HLS_FLAVOUR; by hand, fall back on the interpreter's own name
    # (.../bin/unwrapped/lnx64.o/vivado_hls or .../vitis_hls). Probing commands does not work:
    # both tools have config_interface and config_array_partition, only the options differ.
    if {[info exists ::env(HLS_FLAVOUR)] && $::env(HLS_FLAVOUR) ne ""} {
        return $::env(HLS_FLAVOUR)
    }
    if {[string match *vivado_hls* [file tail [info nameofexecutable]]]} { return vivado }
    return vitis
}

proc qt_add_sources {project tb_data tb_cflags {top core}} {
    # Design and test-bench files; tb_data is the folder the test bench reads as ./tb_data.
    # top "core": the hls4ml top function (synthesis for the estimate, C/RTL co-simulation);
    # "axi": the board wrapper of axi/ (qtransformer.hls.axi_wrapper) around it.
    set cflags "-std=c++0x"
    if {$top eq "axi"} {
        # absolute: HLS compiles C simulation in solution1/csim/build. Vivado HLS's ap_axiu
        # takes no zero-width side channels (qt_axi.h).
        set inc "-I[file normalize firmware] -I[file normalize axi]"
        if {[qt_flavour] eq "vivado"} { append inc " -DQT_AXI_SIDEBAND" }
        set_top ${project}_axi
        add_files firmware/${project}.cpp -cflags $cflags
        add_files axi/${project}_axi.cpp -cflags "$cflags $inc"
        add_files -tb axi/axi_test.cpp -cflags [string trim "$cflags $inc $tb_cflags"]
    } else {
        set_top $project
        add_files firmware/${project}.cpp -cflags $cflags
        set tb_flags [string trim "$cflags -DWEIGHTS_DIR=\"firmware/weights\" $tb_cflags"]
        add_files -tb ${project}_test.cpp -cflags $tb_flags
    }
    add_files -tb firmware/weights
    add_files -tb $tb_data
}

proc qt_solution_config {part period} {
    # The settings hls4ml's own build_prj.tcl applies, written out rather than sourced.
    set_part $part
    create_clock -period $period -name default
    # Leave 12.5% of the period to Vivado's routing (hls4ml's default ClockUncertainty).
    set_clock_uncertainty 12.5% default
    # Long hls4ml template names otherwise get truncated into clashes.
    config_compile -name_max_length 80
    # Let HLS choose DSP pipeline registers instead of forcing all of them.
    config_schedule -enable_dsp_full_reg=false
    # Large weight arrays may be fully partitioned; Vitis HLS dropped -maximum_size (error).
    if {[qt_flavour] eq "vivado"} { config_array_partition -maximum_size 4096 }
}

proc qt_open {project part clock_mhz {top core}} {
    # Fresh project and solution (csim / synth): returns {part period_ns}. The board wrapper
    # gets a project of its own (<project>_axi_prj): an HLS project has one top function.
    lassign [qt_target $project $part $clock_mhz] part period
    open_project -reset [qt_hls_project $project $top]
    qt_add_sources $project tb_data "" $top
    open_solution -reset "solution1"
    qt_solution_config $part $period
    return [list $part $period]
}

proc qt_hls_project {project top} {
    if {$top eq "axi"} { return ${project}_axi_prj }
    return ${project}_prj
}

proc qt_export {} {
    # Package the open solution as Vivado IP (impl/ip); one line and exit 1 on failure.
    if {[catch {export_design -format ip_catalog} msg]} {
        # HLS <= 2021.2 derives the IP revision from the date, which overflows since
        # 2022-01-01 ("bad lexical cast"); Xilinx's fix is a patch, no script option avoids it.
        puts "qtransformer: export_design failed ([string map {\n { }} $msg]); if the log says\
              'bad lexical cast', apply the Y2K22 patch of Xilinx AR 76960 to this HLS install"
        exit 1
    }
}
