# vivado -mode batch -nojournal -nolog -source bitstream.tcl -tclargs <project> [clock MHz]
# Inside the hls4ml project dir, after the AXI-wrapped top was exported as Vivado IP.
# Builds the board's bitstream (the PYNQ-Z2's block design): Zynq PS, an AXI DMA feeding the IP's x_in stream and taking its
# y_out stream back to DDR, both control ports on the PS's GP0 port. Outputs in bitstream/:
# <project>.bit and <project>.hwh (pynq.Overlay finds the .hwh by the .bit's basename and the
# cells by name: axi_dma_0, <project>_axi_0), post-route utilization.rpt and timing.rpt.
# Clock: FCLK_CLK0 at the given MHz, else at the HLS clock of project.tcl.
# Environment: BOARD_REPO (folder holding the pynq-z2 board files), QT_JOBS (runs, default 4).
source [file join [file dirname [info script]] common.tcl]

# The board the build named (qtransformer.vivado.install writes qt_board.tcl): its FPGA and
# Vivado board part; only the PYNQ-Z2's block design exists so far.
set qt_board ""
set qt_board_part ""
if {[file exists qt_board.tcl]} { source qt_board.tcl }
set BD qt_bd
set PS processing_system7_0
set DMA axi_dma_0

proc qt_fail {msg} {
    # One line and a non-zero exit, so make or a notebook shows the reason, not a Tcl trace.
    puts "qtransformer: $msg"
    exit 1
}

proc qt_num {mhz} {
    # 100.0 -> 100, 142.857142 -> 142.857: the PS clock settings take a plain number of MHz.
    if {abs($mhz - round($mhz)) < 1e-6} { return [expr {int(round($mhz))}] }
    return [format %.3f $mhz]
}

proc qt_board_part {wanted} {
    # Vivado ships no PYNQ-Z2 board files. board.repoPaths only counts if set before the
    # project exists, and asking first lets a missing board fail before anything is built.
    if {[info exists ::env(BOARD_REPO)] && $::env(BOARD_REPO) ne ""} {
        set_param board.repoPaths [list $::env(BOARD_REPO)]
    }
    # Any vendor's or revision's files for the board name (vendor:name:part:revision).
    set found [get_board_parts -quiet *:[lindex [split $wanted :] 1]:*]
    if {![llength $found]} {
        qt_fail "no pynq-z2 board part in Vivado; install the TUL PYNQ-Z2 board files\
                 (e.g. cathalmccabe/pynq-z1_board_files, folder pynq-z2) and pass\
                 BOARD_REPO=/path/to/board_files"
    }
    if {$wanted in $found} { return $wanted }
    return [lindex [lsort $found] end]
}

proc qt_ps {ps mhz} {
    # The board preset first (DDR timing, MIO, the 100 MHz default), then what this design
    # changes: FCLK_CLK0 at the HLS clock and the HP0 slave port for the DMA's memory traffic.
    # No fabric interrupts: the driver polls (PYNQ resolves interrupts only through an AXI
    # interrupt controller, which a polled design does not need).
    create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7:5.5 $ps
    apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 \
        -config {make_external "FIXED_IO, DDR" apply_board_preset "1" Master "Disable" \
                 Slave "Disable"} [get_bd_cells $ps]
    set_property -dict [list CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ $mhz \
                            CONFIG.PCW_USE_S_AXI_HP0 1] [get_bd_cells $ps]
}

proc qt_dma {dma} {
    # Simple (register) mode: pynq's DMA driver programs one buffer per transfer. 64-bit on
    # the memory and the stream side to match the IP's TDATA, so no width converter. The
    # length register is 14 bits by default (16 KiB per transfer); 26 bits allows 64 MiB, so
    # a whole batch of samples goes in one transfer and comes back with one TLAST. Bursts of
    # 256 beats (the default is 16) keep the HP port busy.
    create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma:7.1 $dma
    # The S2MM stream width is otherwise derived from the connected master, not from here.
    set_property CONFIG.c_s_axis_s2mm_tdata_width.VALUE_SRC USER [get_bd_cells $dma]
    set_property -dict [list CONFIG.c_include_sg 0 \
                            CONFIG.c_sg_include_stscntrl_strm 0 \
                            CONFIG.c_sg_length_width 26 \
                            CONFIG.c_m_axi_mm2s_data_width 64 \
                            CONFIG.c_m_axis_mm2s_tdata_width 64 \
                            CONFIG.c_m_axi_s2mm_data_width 64 \
                            CONFIG.c_s_axis_s2mm_tdata_width 64 \
                            CONFIG.c_mm2s_burst_size 256 \
                            CONFIG.c_s2mm_burst_size 256] [get_bd_cells $dma]
}

proc qt_axi {master slave pin} {
    # Let Vivado add the interconnect, clocks and resets of one AXI master/slave pair.
    apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
        -config [list Clk_master Auto Clk_slave Auto Clk_xbar Auto Master $master \
                     Slave $slave intc_ip Auto master_apm 0] [get_bd_intf_pins $pin]
}

proc qt_block_design {bd ps dma ip mhz} {
    # Returns FCLK_CLK0's frequency in MHz as the PS can make it (divider of its PLL).
    create_bd_design $bd
    qt_ps $ps $mhz
    qt_dma $dma
    create_bd_cell -type ip -vlnv xilinx.com:hls:${ip}:1.0 ${ip}_0
    set ip ${ip}_0
    connect_bd_intf_net [get_bd_intf_pins $dma/M_AXIS_MM2S] [get_bd_intf_pins $ip/x_in]
    connect_bd_intf_net [get_bd_intf_pins $ip/y_out] [get_bd_intf_pins $dma/S_AXIS_S2MM]
    # Clocks and resets come with the AXI automation below: every slave it connects (the DMA,
    # the IP's s_axi_control, hence its ap_clk and the streams) runs on FCLK_CLK0, the clock
    # of the PS's GP0 master; no clock crossing anywhere.
    set hz [get_property CONFIG.FREQ_HZ [get_bd_pins $ps/FCLK_CLK0]]
    if {![string is double -strict $hz]} { set hz [expr {$mhz * 1e6}] }
    set fclk [qt_num [expr {$hz / 1e6}]]
    qt_axi /$ps/M_AXI_GP0 /$dma/S_AXI_LITE $dma/S_AXI_LITE
    qt_axi /$ps/M_AXI_GP0 /$ip/s_axi_control $ip/s_axi_control
    qt_axi /$dma/M_AXI_MM2S /$ps/S_AXI_HP0 $dma/M_AXI_MM2S
    qt_axi /$dma/M_AXI_S2MM /$ps/S_AXI_HP0 $dma/M_AXI_S2MM
    assign_bd_address
    validate_bd_design
    save_bd_design
    return $fclk
}

proc qt_run_failed {} {
    # "" when impl_1 reached write_bitstream, else the run whose log to read: a synthesis
    # error leaves impl_1 unstarted, and impl_1's log would then say nothing useful.
    set impl [get_runs impl_1]
    if {[get_property PROGRESS $impl] eq "100%"
        && [string match "write_bitstream Complete*" [get_property STATUS $impl]]} {
        return ""
    }
    if {[get_property PROGRESS [get_runs synth_1]] ne "100%"} { return synth_1 }
    return impl_1
}

proc qt_newest {paths} {
    # Several Vivado versions may have left a copy; the last one written is this build's.
    set best ""
    foreach p $paths {
        if {$best eq "" || [file mtime $p] > [file mtime $best]} { set best $p }
    }
    return $best
}

set project [lindex $argv 0]
if {$project eq ""} { qt_fail "usage: bitstream.tcl <project> \[clock MHz\]" }
lassign [qt_target $project "" [lindex $argv 1]] hls_part period
set mhz [qt_num [expr {1000.0 / $period}]]
set jobs 4
if {[info exists ::env(QT_JOBS)] && $::env(QT_JOBS) ne ""} { set jobs $::env(QT_JOBS) }
if {![string is integer -strict $jobs] || $jobs < 1} {
    qt_fail "QT_JOBS=$jobs: expected a number of parallel runs, e.g. QT_JOBS=4"
}
# Where the HLS export step packaged the AXI-wrapped top (VLNV xilinx.com:hls:<project>_axi:1.0).
set ip_repo ${project}_axi_prj/solution1/impl/ip
if {![file isdirectory $ip_repo]} {
    qt_fail "no exported AXI IP in $ip_repo; run make bitstream (it exports the IP first)\
             or the HLS export of the AXI wrapper"
}
if {$qt_board_part eq ""} {
    qt_fail "no block design for board '$qt_board' yet (make bitstream knows the PYNQ-Z2);\
             package ${project}_axi from $ip_repo into your own design"
}
set PART $hls_part

set board [qt_board_part $qt_board_part]
set vdir ${project}_pynq
create_project -force $vdir $vdir -part $PART
set_property board_part $board [current_project]
set_property ip_repo_paths [list [file normalize $ip_repo]] [current_project]
update_ip_catalog
set fclk [qt_block_design $BD $PS $DMA ${project}_axi $mhz]
if {abs($fclk - $mhz) > 0.005 * $mhz} {
    puts "qtransformer: note: FCLK_CLK0 runs at $fclk MHz, not the $mhz MHz asked for"
}

set bd_file [get_files $BD.bd]
# Output products (the .hwh among them) before the runs; the wrapper is the bitstream's top.
generate_target all $bd_file
set wrapper [make_wrapper -files $bd_file -top]
add_files -norecurse $wrapper
set top [file rootname [file tail $wrapper]]
set_property top $top [current_fileset]
update_compile_order -fileset sources_1
launch_runs impl_1 -to_step write_bitstream -jobs $jobs
wait_on_run impl_1

set failed [qt_run_failed]
if {$failed ne ""} {
    set run [get_runs $failed]
    qt_fail "Vivado run $failed did not complete ([get_property STATUS $run],\
             [get_property PROGRESS $run]); see [get_property DIRECTORY $run]/runme.log"
}
set bit [file join [get_property DIRECTORY [get_runs impl_1]] $top.bit]
if {![file exists $bit]} { qt_fail "impl_1 completed but wrote no $bit" }
# 2019.x/2020.1 keep the handoff under <prj>.srcs, 2020.2 and later under <prj>.gen.
set hwh [qt_newest [glob -nocomplain [file join $vdir * sources_1 bd $BD hw_handoff $BD.hwh]]]
if {$hwh eq ""} {
    qt_fail "no $BD.hwh under $vdir/*/sources_1/bd/$BD/hw_handoff; the block design's\
             output products were not generated"
}
file mkdir bitstream
file copy -force $bit bitstream/${project}.bit
file copy -force $hwh bitstream/${project}.hwh

open_run impl_1
report_utilization -file bitstream/utilization.rpt
report_timing_summary -file bitstream/timing.rpt
set wns [get_property SLACK [get_timing_paths -max_paths 1 -nworst 1 -setup]]
if {$wns eq ""} { set wns "n/a" }
if {[string is double -strict $wns] && $wns < 0} {
    puts "qtransformer: post-route WNS $wns ns at $fclk MHz: timing NOT met, the bitstream\
          may compute wrong results; rebuild at a lower clock"
} else {
    puts "qtransformer: post-route WNS $wns ns at $fclk MHz"
}
puts "qtransformer: bitstream/${project}.bit and .hwh written (WNS $wns ns)"
exit 0
