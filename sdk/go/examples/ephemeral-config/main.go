// Command ephemeral-config is ZooKeeper's ephemeral-node example in Cairn terms.
//
//	go run ./examples/ephemeral-config owner [--ttl 5]   # creates /config, bound to its session
//	go run ./examples/ephemeral-config watch             # prints every change to /config
//
// The owner puts a JSON value under /config attached to its session's lease and updates
// it every few seconds. The watcher prints the current value, then every change. Kill the
// owner with Ctrl-C and /config is deleted at once (the session is closed, revoking its
// lease); kill it with `kill -9` and /config is deleted when the lease expires, within the
// TTL. The cluster is named by CAIRN_ENDPOINTS (default 127.0.0.1:7379).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	cairn "github.com/cairn-dev/cairn/sdk/go"
)

const key = "/config"

func main() {
	log.SetFlags(0)
	if len(os.Args) < 2 || (os.Args[1] != "owner" && os.Args[1] != "watch") {
		log.Fatal("usage: ephemeral-config owner [--ttl SECONDS] [--every SECONDS] | watch")
	}
	flags := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	ttl := flags.Int64("ttl", 5, "session TTL in seconds: how long /config outlives a killed owner")
	every := flags.Duration("every", 3*time.Second, "how often the owner updates /config")
	_ = flags.Parse(os.Args[2:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	client, err := cairn.New(ctx, cairn.Config{}) // endpoints from CAIRN_ENDPOINTS
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	if os.Args[1] == "owner" {
		err = owner(ctx, client, *ttl, *every)
	} else {
		err = watch(ctx, client)
	}
	if err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}

// owner keeps /config alive for as long as it runs.
func owner(ctx context.Context, client *cairn.Client, ttl int64, every time.Duration) error {
	session, err := cairn.NewSession(ctx, client, cairn.WithTTL(ttl))
	if err != nil {
		return err
	}
	defer session.Close() // on Ctrl-C: revoke the lease, deleting /config now
	host, _ := os.Hostname()
	for version := 1; ; version++ {
		value, _ := json.Marshal(map[string]any{"owner": fmt.Sprintf("%s:%d", host, os.Getpid()), "version": version})
		if _, err := session.Register(ctx, key, string(value)); err != nil {
			return err
		}
		fmt.Printf("owner: %s = %s (lease %x)\n", key, value, session.Lease())
		select {
		case <-time.After(every):
		case <-session.Done():
			return fmt.Errorf("session lost: %w", session.Err())
		case <-ctx.Done():
			return nil
		}
	}
}

// watch prints /config now and at every change, until interrupted.
func watch(ctx context.Context, client *cairn.Client) error {
	current, err := client.Get(ctx, key)
	if err != nil {
		return err
	}
	if len(current.Kvs) == 0 {
		fmt.Printf("watch: %s does not exist (revision %d)\n", key, current.Header.Revision)
	} else {
		fmt.Printf("watch: %s = %s (revision %d)\n", key, current.Kvs[0].Value, current.Kvs[0].ModRevision)
	}
	for resp := range client.Watch(ctx, key, cairn.FromRevision(current.Header.Revision+1)) {
		if resp.Err != nil {
			return resp.Err
		}
		for _, e := range resp.Events {
			if e.Type == cairn.EventDelete {
				fmt.Printf("watch: %s deleted (revision %d): its owner is gone\n", key, e.KV.ModRevision)
			} else {
				fmt.Printf("watch: %s = %s (revision %d)\n", key, e.KV.Value, e.KV.ModRevision)
			}
		}
	}
	return ctx.Err()
}
