package e2e

import "crypto/sha256"

func sum256(s string) [32]byte { return sha256.Sum256([]byte(s)) }
