// Command verify_tiles checks a Silkgate log written to a directory with a verifier no one on
// the project wrote: golang.org/x/mod/sumdb/note for the signed checkpoint and
// golang.org/x/mod/sumdb/tlog for the tree. It reads C2SP tlog-tiles paths (tile/<L>/<N>,
// tile/entries/<N>), which are Go's tile paths without the tile height element and with
// "entries" for "data".
//
// Usage: verify_tiles [-ca CA.pem] [-receipt FILE] SOURCE VKEY OLD_SIZE SIGNER_KEY
//
// SOURCE is a directory or the https URL of a running node's tile API (".../log/"); with a
// URL, -ca names the PEM of the CA that issued the node's TLS certificate. It verifies the
// checkpoint signature with VKEY, recomputes the root from the tiles, checks every entry in
// the entry bundles against the leaf hashes, checks inclusion proofs and a consistency proof
// from OLD_SIZE, and finally signs a note with SIGNER_KEY into SOURCE/go-note for the Rust
// side to verify (skipped when SIGNER_KEY is "-"). With -receipt it also checks a receipt
// bundle (c2sp.org/tlog-proof) the node served: its checkpoint's signature with VKEY, its
// inclusion proof with tlog.CheckRecord, its entry against the leaf hash in the tiles, and its
// root against the tree recomputed from the tiles at its size. It prints "OK <size> <root>
// old=<size>:<root>" (and " receipt=<index>@<size>") on success.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

var (
	caFile      = flag.String("ca", "", "PEM of the CA of the node's TLS certificate (https SOURCE)")
	receiptFile = flag.String("receipt", "", "receipt bundle (c2sp.org/tlog-proof) to check")
)

// source reads tlog-tiles resources from a directory or over HTTPS.
type source struct {
	dir    string
	base   string
	client *http.Client
}

func newSource(s string) source {
	if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
		return source{dir: s}
	}
	cfg := &tls.Config{}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fail("-ca: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fail("-ca %s: no certificate", *caFile)
		}
		cfg.RootCAs = pool
	}
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: cfg},
	}
	return source{base: strings.TrimSuffix(s, "/") + "/", client: client}
}

func (s source) get(path string) ([]byte, error) {
	if s.base == "" {
		return os.ReadFile(filepath.Join(s.dir, path))
	}
	resp, err := s.client.Get(s.base + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s%s: HTTP %d: %s", s.base, path, resp.StatusCode, b)
	}
	return b, nil
}

type dirTiles struct{ src source }

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
		b, err := d.src.get(c2spPath(t))
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

// openCheckpoint verifies a signed checkpoint (c2sp.org/signed-note, c2sp.org/tlog-checkpoint)
// with the log's key and returns its size and root. Cosignatures by keys it does not know are
// left unverified, as note.Open does.
func openCheckpoint(what string, msg []byte, verifier note.Verifier) (int64, tlog.Hash) {
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("%s signature: %v", what, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("%s has %d lines", what, len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("%s size: %v", what, err)
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		fail("%s root: %v", what, err)
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	return size, root
}

// checkReceipt checks a receipt bundle (c2sp.org/tlog-proof: header, "extra <base64 entry>",
// "index <N>", the inclusion proof one hash a line, a blank line, the signed checkpoint)
// against the log read through thr, whose tree has size entries. Returns the entry's index
// and the receipt checkpoint's size.
func checkReceipt(file string, verifier note.Verifier, thr tlog.HashReader, size int64) (int64, int64) {
	b, err := os.ReadFile(file)
	if err != nil {
		fail("receipt: %v", err)
	}
	text := string(b)
	cut := strings.Index(text, "\n\n")
	if cut < 0 {
		fail("receipt: no blank line before the checkpoint")
	}
	lines := strings.Split(text[:cut], "\n")
	if len(lines) < 3 || lines[0] != "c2sp.org/tlog-proof@v1" {
		fail("receipt: not a c2sp.org/tlog-proof@v1")
	}
	entry, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[1], "extra "))
	if err != nil || !strings.HasPrefix(lines[1], "extra ") {
		fail("receipt extra line: %v", err)
	}
	index, err := strconv.ParseInt(strings.TrimPrefix(lines[2], "index "), 10, 64)
	if err != nil || !strings.HasPrefix(lines[2], "index ") {
		fail("receipt index line: %v", err)
	}
	var proof tlog.RecordProof
	for _, l := range lines[3:] {
		h, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(h) != tlog.HashSize {
			fail("receipt proof line %q: %v", l, err)
		}
		var hash tlog.Hash
		copy(hash[:], h)
		proof = append(proof, hash)
	}
	cpSize, cpRoot := openCheckpoint("receipt checkpoint", []byte(text[cut+2:]), verifier)
	leaf := tlog.RecordHash(entry)
	if err := tlog.CheckRecord(proof, cpSize, cpRoot, index, leaf); err != nil {
		fail("receipt inclusion proof: %v", err)
	}
	if cpSize > size {
		fail("receipt checkpoint size %d is beyond the log's size %d", cpSize, size)
	}
	served, err := tlog.TreeHash(cpSize, thr)
	if err != nil {
		fail("root at the receipt's size: %v", err)
	}
	if served != cpRoot {
		fail("receipt root %v differs from the tiles' tree at size %d: %v", cpRoot, cpSize, served)
	}
	leaves, err := thr.ReadHashes([]int64{tlog.StoredHashIndex(0, index)})
	if err != nil {
		fail("receipt leaf: %v", err)
	}
	if leaves[0] != leaf {
		fail("receipt entry %d differs from the leaf in the tiles", index)
	}
	return index, cpSize
}

func main() {
	flag.Parse()
	if flag.NArg() != 4 {
		fail("usage: verify_tiles [-ca CA.pem] [-receipt FILE] SOURCE VKEY OLD_SIZE SIGNER_KEY")
	}
	src := newSource(flag.Arg(0))
	vkey := flag.Arg(1)
	oldSize, err := strconv.ParseInt(flag.Arg(2), 10, 64)
	if err != nil {
		fail("old size: %v", err)
	}

	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail("verifier key: %v", err)
	}
	msg, err := src.get("checkpoint")
	if err != nil {
		fail("%v", err)
	}
	size, root := openCheckpoint("checkpoint", msg, verifier)

	// The tree from the tiles. TileHashReader checks every tile it reads against the root.
	tree := tlog.Tree{N: size, Hash: root}
	thr := tlog.TileHashReader(tree, dirTiles{src})
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
		b, err := src.get(c2spPath(t))
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

	receipt := ""
	if *receiptFile != "" {
		index, at := checkReceipt(*receiptFile, verifier, thr, size)
		receipt = fmt.Sprintf(" receipt=%d@%d", index, at)
	}

	// The other direction: a note signed here, for the Rust side to verify.
	if flag.Arg(3) != "-" {
		if src.dir == "" {
			fail("SIGNER_KEY needs a directory SOURCE to write go-note into")
		}
		signer, err := note.NewSigner(flag.Arg(3))
		if err != nil {
			fail("signer key: %v", err)
		}
		signed, err := note.Sign(&note.Note{Text: "signed by x/mod/sumdb/note\n"}, signer)
		if err != nil {
			fail("sign: %v", err)
		}
		if err := os.WriteFile(filepath.Join(src.dir, "go-note"), signed, 0o644); err != nil {
			fail("%v", err)
		}
	}
	fmt.Printf("OK %d %s old=%d:%s%s\n", size, base64.StdEncoding.EncodeToString(root[:]), oldSize, base64.StdEncoding.EncodeToString(oldRoot[:]), receipt)
}
