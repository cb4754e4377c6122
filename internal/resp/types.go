package resp

// RESP2 and RESP3 type bytes.
const (
	TypeSimple    = '+'
	TypeError     = '-'
	TypeInt       = ':'
	TypeBulk      = '$'
	TypeArray     = '*'
	TypeNull      = '_'
	TypeDouble    = ','
	TypeBool      = '#'
	TypeBlobError = '!'
	TypeVerbatim  = '='
	TypeBigNumber = '('
	TypeMap       = '%'
	TypeSet       = '~'
	TypeAttribute = '|'
	TypePush      = '>'

	typeChunk     = ';' // a part of a streamed string ("$?")
	typeStreamEnd = '.' // the end of a streamed aggregate ("*?", "%?", "~?")
)

// maxHeaderLine bounds a header line ("$123\r\n", ":-42\r\n", "#t\r\n"),
// type byte and CRLF included. The longest valid one is ":" plus 20 digits
// plus CRLF; anything longer is garbage and is refused before it is buffered.
const maxHeaderLine = 64

// lineType reports whether t starts a free-form line (simple string, error,
// double, big number) whose text is skipped rather than buffered.
func lineType(t byte) bool {
	return t == TypeSimple || t == TypeError || t == TypeDouble || t == TypeBigNumber
}

// aggregateType reports whether t starts an aggregate and how many elements
// each declared count stands for (maps and attributes hold pairs).
func aggregateType(t byte) (perCount int64, ok bool) {
	switch t {
	case TypeArray, TypeSet, TypePush:
		return 1, true
	case TypeMap, TypeAttribute:
		return 2, true
	}
	return 0, false
}

// streamable reports whether t may have the "?" (streamed) length.
func streamable(t byte) bool {
	return t == TypeArray || t == TypeSet || t == TypeMap || t == TypeBulk
}
