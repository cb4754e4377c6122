// Command imagebuild packs a static redoubt binary into an OCI image
// archive without a container daemon, the way ko does: an empty base, one
// layer with the binary, a passwd entry for a non-root user and the CA
// bundle, and a config that names the user, entrypoint and version.
//
//	go run ./build/imagebuild -binary bin/redoubt-static -version v1.2.3 -out bin/redoubt-image.tar
//
// The same inputs give the same bytes: every timestamp is SOURCE_DATE_EPOCH
// (0 when unset), file owners and modes are fixed, and entries are sorted.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	var o Options
	flag.StringVar(&o.Binary, "binary", "bin/redoubt-static", "static redoubt binary (CGO_ENABLED=0)")
	flag.StringVar(&o.Version, "version", "dev", "version for the image's labels and tag")
	flag.StringVar(&o.Revision, "revision", "", "source revision for the image's labels")
	flag.StringVar(&o.CABundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "CA certificates to ship for upstream TLS (empty: none)")
	flag.StringVar(&o.Arch, "arch", "amd64", "GOARCH the binary was built for")
	out := flag.String("out", "bin/redoubt-image.tar", "OCI image archive to write")
	flag.Parse()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "imagebuild: SOURCE_DATE_EPOCH:", err)
			os.Exit(1)
		}
		o.Created = time.Unix(sec, 0).UTC()
	}
	digest, err := WriteArchive(o, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
	fmt.Printf("%s %s\n", *out, digest)
}
