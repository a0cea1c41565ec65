// Command verify_tiles checks a Silkgate log written to a directory with a verifier no one on
// the project wrote: golang.org/x/mod/sumdb/note for the signed checkpoint and
// golang.org/x/mod/sumdb/tlog for the tree. It reads C2SP tlog-tiles paths (tile/<L>/<N>,
// tile/entries/<N>), which are Go's tile paths without the tile height element and with
// "entries" for "data".
//
// Usage: verify_tiles DIR VKEY OLD_SIZE SIGNER_KEY
//
// It verifies the checkpoint signature with VKEY, recomputes the root from the tiles, checks
// every entry in the entry bundles against the leaf hashes, checks inclusion proofs and a
// consistency proof from OLD_SIZE, and finally signs a note with SIGNER_KEY into DIR/go-note
// for the Rust side to verify. It prints "OK <size> <root>" on success.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

type dirTiles struct{ dir string }

// c2spPath maps Go's tile path "tile/8/<L>/<N>" to the C2SP "tile/<L>/<N>".
func c2spPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", height))
	p = strings.Replace(p, "data/", "entries/", 1)
	return "tile/" + p
}

func (d dirTiles) Height() int { return height }

func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := os.ReadFile(filepath.Join(d.dir, c2spPath(t)))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (d dirTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 5 {
		fail("usage: verify_tiles DIR VKEY OLD_SIZE SIGNER_KEY")
	}
	dir, vkey := os.Args[1], os.Args[2]
	oldSize, err := strconv.ParseInt(os.Args[3], 10, 64)
	if err != nil {
		fail("old size: %v", err)
	}

	// The signed checkpoint (c2sp.org/signed-note, c2sp.org/tlog-checkpoint).
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail("verifier key: %v", err)
	}
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("checkpoint has %d lines", len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		fail("checkpoint root: %v", err)
	}
	var root tlog.Hash
	copy(root[:], rootBytes)

	// The tree from the tiles. TileHashReader checks every tile it reads against the root.
	tree := tlog.Tree{N: size, Hash: root}
	thr := tlog.TileHashReader(tree, dirTiles{dir})
	got, err := tlog.TreeHash(size, thr)
	if err != nil {
		fail("tree hash from tiles: %v", err)
	}
	if got != root {
		fail("root from tiles %v != checkpoint root %v", got, root)
	}

	// Every entry against its leaf hash.
	indexes := make([]int64, size)
	for i := int64(0); i < size; i++ {
		indexes[i] = tlog.StoredHashIndex(0, i)
	}
	leaves, err := thr.ReadHashes(indexes)
	if err != nil {
		fail("leaf hashes: %v", err)
	}
	var entries int64
	for k := int64(0); k*256 < size; k++ {
		w := size - k*256
		if w > 256 {
			w = 256
		}
		t := tlog.Tile{H: height, L: -1, N: k, W: int(w)}
		b, err := os.ReadFile(filepath.Join(dir, c2spPath(t)))
		if err != nil {
			fail("entry bundle: %v", err)
		}
		for len(b) > 0 {
			if len(b) < 2 {
				fail("bundle %s: truncated length", c2spPath(t))
			}
			l := int(binary.BigEndian.Uint16(b))
			if len(b) < 2+l {
				fail("bundle %s: truncated entry", c2spPath(t))
			}
			e := b[2 : 2+l]
			b = b[2+l:]
			if tlog.RecordHash(e) != leaves[entries] {
				fail("entry %d does not match its leaf hash", entries)
			}
			entries++
		}
	}
	if entries != size {
		fail("bundles hold %d entries, checkpoint says %d", entries, size)
	}

	// Inclusion proofs (RFC 6962 audit paths) for a spread of entries.
	for _, i := range []int64{0, size / 3, size / 2, size - 1} {
		p, err := tlog.ProveRecord(size, i, thr)
		if err != nil {
			fail("prove %d: %v", i, err)
		}
		if err := tlog.CheckRecord(p, size, root, i, leaves[i]); err != nil {
			fail("check record %d: %v", i, err)
		}
	}

	// Consistency from the old size.
	oldRoot, err := tlog.TreeHash(oldSize, thr)
	if err != nil {
		fail("old root: %v", err)
	}
	tp, err := tlog.ProveTree(size, oldSize, thr)
	if err != nil {
		fail("prove tree: %v", err)
	}
	if err := tlog.CheckTree(tp, size, root, oldSize, oldRoot); err != nil {
		fail("check tree: %v", err)
	}

	// The other direction: a note signed here, for the Rust side to verify.
	signer, err := note.NewSigner(os.Args[4])
	if err != nil {
		fail("signer key: %v", err)
	}
	signed, err := note.Sign(&note.Note{Text: "signed by x/mod/sumdb/note\n"}, signer)
	if err != nil {
		fail("sign: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go-note"), signed, 0o644); err != nil {
		fail("%v", err)
	}
	fmt.Printf("OK %d %s old=%d:%s\n", size, base64.StdEncoding.EncodeToString(root[:]), oldSize, base64.StdEncoding.EncodeToString(oldRoot[:]))
}
