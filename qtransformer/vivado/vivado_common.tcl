# Shared by vivado_synth.tcl / vivado_impl.tcl (non-project batch mode, inside the project dir).
source [file join [file dirname [info script]] common.tcl]

proc qt_vivado_synth {project part clock_mhz} {
    # Out-of-context synthesis of the HLS RTL, timing-driven by the HLS clock: {part period}.
    lassign [qt_target $project $part $clock_mhz] part period
    set rtl ${project}_prj/solution1/syn/verilog
    set sources [glob -nocomplain $rtl/*.v]
    if {![llength $sources]} {
        puts "qtransformer: no RTL in $rtl; run the HLS synthesis (make synth) first"
        exit 1
    }
    # Floating-point/other IP cores come as <name>_ip.tcl scripts calling create_ip, which
    # needs a (here in-memory) project; their netlists must be generated before synthesis.
    set ip_scripts [glob -nocomplain $rtl/*.tcl]
    if {[llength $ip_scripts]} { create_project -in_memory -part $part }
    # ROM contents: the RTL $readmemh's ./<rom>.dat; added files are where Vivado looks.
    add_files {*}$sources {*}[glob -nocomplain $rtl/*.dat]
    if {[llength $ip_scripts]} {
        foreach f $ip_scripts { source $f }
        generate_target all [get_ips]
        synth_ip [get_ips]
    }
    # The clock must exist before synth_design, else synthesis is not timing-driven.
    file mkdir reports
    set xdc reports/${project}_ooc.xdc
    set fh [open $xdc w]
    puts $fh "create_clock -period $period -name ap_clk \[get_ports ap_clk\]"
    close $fh
    read_xdc $xdc
    synth_design -top $project -part $part -mode out_of_context
    return [list $part $period]
}
