// Command quickstart is the README's quickstart: it writes, reads and watches a JSON
// configuration on the cluster named by CAIRN_ENDPOINTS (default 127.0.0.1:7379).
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	cairn "github.com/cairn-dev/cairn/sdk/go"
)

// App is the configuration stored as JSON under app/config.
type App struct {
	Name     string `json:"name"`
	Replicas int    `json:"replicas"`
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	client, err := cairn.New(ctx, cairn.Config{}) // endpoints from CAIRN_ENDPOINTS
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	put, err := client.Put(ctx, "app/config", `{"name":"web","replicas":3}`)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("written at revision", put.Header.Revision)

	cfg, rev, err := cairn.GetConfig[App](ctx, client, "app/config")
	if err != nil {
		log.Fatal(err)
	}
	if cfg == nil {
		log.Fatal("app/config does not exist")
	}
	fmt.Printf("config %+v (revision %d)\n", *cfg, rev)

	// Compare-and-swap: scale up only if nobody changed the config since we read it.
	txn, err := client.Txn(ctx).
		If(cairn.ModRevision("app/config").Equal(rev)).
		Then(cairn.OpPut("app/config", `{"name":"web","replicas":5}`)).
		Commit()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("scaled up:", txn.Succeeded)

	// Follow the configuration: the current version first, then every change.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	updates := cairn.WatchConfig[App](wctx, client, "app/config")
	fmt.Printf("current: %+v\n", (<-updates).Value)
	if _, err := client.Put(ctx, "app/config", `{"name":"web","replicas":7}`); err != nil {
		log.Fatal(err)
	}
	u := <-updates
	fmt.Printf("changed at revision %d: %+v\n", u.Revision, u.Value)
}
