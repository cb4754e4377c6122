package iamtest

import (
	"encoding/hex"
	"testing"
)

// AWS's published examples pin the SigV4 math to the specification rather
// than to the SDK that redoubt signs with.
func TestSigV4Vectors(t *testing.T) {
	t.Run("signing key derivation (IAM reference example)", func(t *testing.T) {
		key := signingKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
		const want = "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
		if got := hex.EncodeToString(key); got != want {
			t.Fatalf("signing key = %s, want %s", got, want)
		}
	})
	t.Run("presigned URL (S3 query-string authentication example)", func(t *testing.T) {
		q := canonicalQuery([]param{
			{"X-Amz-SignedHeaders", "host"},
			{"X-Amz-Expires", "86400"},
			{"X-Amz-Date", "20130524T000000Z"},
			{"X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"},
			{"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
		})
		const wantQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
		if q != wantQuery {
			t.Fatalf("canonical query = %s\nwant %s", q, wantQuery)
		}
		creq := canonicalRequest("GET", "/test.txt", q, "examplebucket.s3.amazonaws.com", "UNSIGNED-PAYLOAD")
		sts := stringToSign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", creq)
		const wantSTS = "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04"
		if sts != wantSTS {
			t.Fatalf("string to sign = %q\nwant %q", sts, wantSTS)
		}
		key := signingKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3")
		const wantSig = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
		if got := signature(key, sts); got != wantSig {
			t.Fatalf("signature = %s, want %s", got, wantSig)
		}
	})
}

func TestURIEncode(t *testing.T) {
	tests := []struct{ desc, in, want string }{
		{desc: "unreserved kept", in: "Az09-_.~", want: "Az09-_.~"},
		{desc: "space is %20, not +", in: "a b", want: "a%20b"},
		{desc: "reserved and plus", in: "a+b/c=d&e", want: "a%2Bb%2Fc%3Dd%26e"},
		{desc: "upper-case hex for bytes", in: "\xff\x00", want: "%FF%00"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := uriEncode(tt.in); got != tt.want {
				t.Fatalf("uriEncode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
