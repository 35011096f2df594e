// Command scenario runs the cross-SDK scenario (sdk/scenario/SCENARIO.md) against the
// fresh cluster named by CAIRN_ENDPOINTS (comma-separated host:port) and prints its lines.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	cairn "github.com/cairn-dev/cairn/sdk/go"
	"github.com/cairn-dev/cairn/sdk/go/internal/scenario"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "scenario:", err)
		os.Exit(1)
	}
}

// run connects with the default configuration (endpoints from CAIRN_ENDPOINTS) and writes
// the scenario's lines to w.
func run(ctx context.Context, w io.Writer) error {
	client, err := cairn.New(ctx, cairn.Config{})
	if err != nil {
		return err
	}
	defer client.Close()
	return scenario.Run(ctx, client, w)
}
