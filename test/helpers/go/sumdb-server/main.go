// Command sumdb-server serves a test checksum database (golang.org/x/mod/sumdb
// TestServer, signed with a key generated at start) for the modules found in
// a GOPROXY directory. It prints {"url","vkey"} as one JSON line on stdout,
// counts requests per path (GET /_hits) and serves until it is killed.
//
// Usage: sumdb-server <proxy-dir> <db-name>
package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: sumdb-server <proxy-dir> <db-name>")
	}
	dir, name := os.Args[1], os.Args[2]
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		log.Fatal(err)
	}
	gosum := func(path, vers string) ([]byte, error) {
		ep, err := module.EscapePath(path)
		if err != nil {
			return nil, err
		}
		ev, err := module.EscapeVersion(vers)
		if err != nil {
			return nil, err
		}
		base := filepath.Join(dir, ep, "@v", ev)
		zh, err := dirhash.HashZip(base+".zip", dirhash.Hash1)
		if err != nil {
			return nil, err
		}
		mh, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) { return os.Open(base + ".mod") })
		if err != nil {
			return nil, err
		}
		return []byte(fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", path, vers, zh, path, vers, mh)), nil
	}
	srv := sumdb.NewServer(sumdb.NewTestServer(skey, gosum))
	var mu sync.Mutex
	hits := map[string]int{}
	handler := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/_hits" {
			_ = json.NewEncoder(w).Encode(hits)
			return
		}
		hits[r.URL.Path]++
		srv.ServeHTTP(w, r)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	_ = json.NewEncoder(os.Stdout).Encode(map[string]string{"url": "http://" + ln.Addr().String(), "vkey": vkey})
	log.Fatal(http.Serve(ln, http.HandlerFunc(handler)))
}
