package resp

import "testing"

func benchParse(b *testing.B, in string) {
	buf := []byte(in)
	var cmd Command
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := ParseCommand(buf, &cmd, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCommandGET(b *testing.B) {
	benchParse(b, "*2\r\n$3\r\nGET\r\n$10\r\nuser:12345\r\n")
}

func BenchmarkParseCommandSET(b *testing.B) {
	v := make([]byte, 100)
	for i := range v {
		v[i] = 'v'
	}
	benchParse(b, string(AppendCommand(nil, "SET", "user:12345", string(v), "EX", "60")))
}

func BenchmarkParseCommandInline(b *testing.B) {
	benchParse(b, "SET user:12345 \"hello world\"\r\n")
}

func BenchmarkReplyScanner(b *testing.B) {
	var in []byte
	in = AppendSimple(in, "OK")
	in = AppendBulkString(in, "a value of some forty bytes, more or less")
	in = AppendInt(in, 42)
	in = AppendCommand(in, "message", "channel", "payload") // an array of 3 bulks
	in = append(in, "%2\r\n+server\r\n+redis\r\n+proto\r\n:3\r\n"...)
	s := NewReplyScanner(DefaultLimits())
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		for p := in; len(p) > 0; {
			n, _, err := s.Scan(p)
			if err != nil {
				b.Fatal(err)
			}
			p = p[n:]
		}
	}
}

func BenchmarkParseValue(b *testing.B) {
	in := []byte("*3\r\n$7\r\nmessage\r\n$7\r\nchannel\r\n$7\r\npayload\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseValue(in, nil); err != nil {
			b.Fatal(err)
		}
	}
}
