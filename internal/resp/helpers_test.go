package resp

// AppendSimple appends a simple string reply "+s\r\n".
func AppendSimple(b []byte, s string) []byte { return appendLine(b, TypeSimple, s) }

// AppendCommandBytes is AppendCommand for arguments held as byte slices,
// such as Command.Args.
func AppendCommandBytes(b []byte, args [][]byte) []byte {
	b = AppendArrayHeader(b, len(args))
	for _, a := range args {
		b = AppendBulk(b, a)
	}
	return b
}
