// One-time generator of cosignature-vectors.json: C2SP tlog-cosignature cosignature/v1 notes made
// by an independent implementation, Go's golang.org/x/mod/sumdb/note (note layout, signature line
// encoding) with Go's crypto/ed25519 and crypto/sha256, to check worker/core/audit/cosignature.ts
// byte for byte (Ed25519 is deterministic).
//
// sumdb/note v0.7.0 knows only key type 0x01, so this file supplies its own note.Signer, as the
// reference notes advise: key ID = SHA-256(name || 0x0A || 0x04 || pub)[:4], signature =
// u64-BE timestamp || Ed25519("cosignature/v1\ntime <ts>\n" || body); note.Sign prepends the key ID.
//
// Kept for review only; with Debian's golang-go and golang-golang-x-mod-dev, off the network:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run cosignature-vectors.gen.go > cosignature-vectors.json
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/note"
)

type cosigner struct {
	name string
	priv ed25519.PrivateKey
	ts   uint64
}

func (c cosigner) Name() string { return c.name }

func (c cosigner) KeyHash() uint32 {
	h := sha256.Sum256(append(append([]byte(c.name), '\n', 0x04), c.priv.Public().(ed25519.PublicKey)...))
	return binary.BigEndian.Uint32(h[:4])
}

func (c cosigner) Sign(msg []byte) ([]byte, error) {
	signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", c.ts)), msg...)
	out := binary.BigEndian.AppendUint64(nil, c.ts)
	return append(out, ed25519.Sign(c.priv, signed)...), nil
}

type vector struct {
	Seed      string `json:"seed"`
	Name      string `json:"name"`
	Timestamp uint64 `json:"timestamp"`
	Body      string `json:"body"`
	Vkey      string `json:"vkey"`
	Note      string `json:"note"`
}

func main() {
	cases := []struct{ seed, name, body string; ts uint64 }{
		{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "witness.example.com/w1",
			"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", 1679315147},
		{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "witness.test/dev",
			"vault.test/audit-merkle/tenant-a\n1\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\n", 1},
	}
	var out []vector
	for _, c := range cases {
		seed, _ := hex.DecodeString(c.seed)
		s := cosigner{c.name, ed25519.NewKeyFromSeed(seed), c.ts}
		msg, err := note.Sign(&note.Note{Text: c.body}, s)
		if err != nil {
			panic(err)
		}
		pub := s.priv.Public().(ed25519.PublicKey)
		vkey := fmt.Sprintf("%s+%08x+%s", c.name, s.KeyHash(), base64.StdEncoding.EncodeToString(append([]byte{0x04}, pub...)))
		out = append(out, vector{c.seed, c.name, c.ts, c.body, vkey, string(msg)})
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}
