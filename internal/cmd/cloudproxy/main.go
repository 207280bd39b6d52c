// Command cloudproxy runs internal/cloudproxy in front of an emulator, for
// measuring a skyplan run by hand:
//
//	cloudproxy -target http://127.0.0.1:5000 -latency 50ms &
//	AWS_ENDPOINT_URL=http://127.0.0.1:PORT skyplan plan
//	kill %1   # prints the calls per operation
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/skyplan/skyplan/internal/cloudproxy"
)

func main() {
	target := flag.String("target", "", "emulator base URL, e.g. moto_server's http://127.0.0.1:5000 (required)")
	latency := flag.Duration("latency", 0, "delay added to every request")
	replay := flag.Bool("replay-reads", false, "answer identical reads from the first answer until a mutating call")
	flag.Parse()
	if *target == "" {
		log.Fatal("cloudproxy: -target URL is required")
	}
	p, err := cloudproxy.Start(*target)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	p.SetLatency(*latency)
	p.SetReplayReads(*replay)
	fmt.Println(p.URL)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(p.Snapshot()) //nolint:errcheck // best effort on exit
}
