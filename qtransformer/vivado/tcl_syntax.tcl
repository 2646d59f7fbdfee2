# Usage: tclsh tcl_syntax.tcl FILE -- fails when FILE does not parse as complete Tcl.
# Each top-level command (and every braced body inside procs/ifs/loops) must be complete.
set path [lindex $argv 0]
set fh [open $path r]
set text [read $fh]
close $fh
if {![info complete $text]} {
    puts stderr "$path: incomplete Tcl (unbalanced braces, brackets or quotes)"
    exit 1
}
set cmd ""
set line_no 0
foreach line [split $text "\n"] {
    incr line_no
    append cmd $line "\n"
    if {[info complete $cmd]} { set cmd "" }
}
if {$cmd ne ""} {
    puts stderr "$path: command starting before line $line_no is incomplete"
    exit 1
}
puts "$path: ok"
