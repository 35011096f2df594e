package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// `loadgen report DIR` reads the -o json results in DIR (bench/compare.sh labels each with
// -meta case=...,seq=...,members=...,round=...) and writes the side-by-side markdown table:
// throughput is the mean over rounds, latency percentiles come from the rounds' histograms
// merged, CPU per 1,000 ops is total server CPU over total ops, RSS is the mean per member.

type caseRuns struct {
	name    string
	seq     int
	members string
	runs    map[string][]*Result // by target
}

func reportMain(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	details := fs.Bool("details", true, "also list every run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: loadgen report [-details=false] DIR")
	}
	files, err := filepath.Glob(filepath.Join(fs.Arg(0), "*.json"))
	if err != nil {
		return err
	}
	var results []*Result
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r Result
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		results = append(results, &r)
	}
	if len(results) == 0 {
		return fmt.Errorf("no results in %s", fs.Arg(0))
	}
	writeReport(out, results, *details)
	return nil
}

func groupCases(results []*Result) []*caseRuns {
	byName := map[string]*caseRuns{}
	var cases []*caseRuns
	for _, r := range results {
		name := r.Meta["case"]
		if name == "" {
			name = fmt.Sprintf("%s, %d clients", r.Workload, r.Clients)
		}
		// One case per compare.sh sequence number (the same label recurs per topology).
		key := r.Meta["seq"] + "|" + r.Meta["members"] + "|" + name
		c := byName[key]
		if c == nil {
			seq, _ := strconv.Atoi(r.Meta["seq"])
			c = &caseRuns{name: name, seq: seq, members: r.Meta["members"], runs: map[string][]*Result{}}
			byName[key] = c
			cases = append(cases, c)
		}
		c.runs[r.Target] = append(c.runs[r.Target], r)
	}
	sort.SliceStable(cases, func(i, j int) bool { return cases[i].seq < cases[j].seq })
	for _, c := range cases {
		for _, rs := range c.runs {
			sort.SliceStable(rs, func(i, j int) bool { return rs[i].Meta["round"] < rs[j].Meta["round"] })
		}
	}
	return cases
}

// summary aggregates one target's rounds of one case.
type summary struct {
	n         int
	opsPerSec float64 // mean over rounds
	lat       Latency // merged histograms
	cpuPer1k  float64
	rss       []float64 // MiB, mean per member
	load      [2]float64
	errors    int64
}

func summarize(rs []*Result) *summary {
	if len(rs) == 0 {
		return nil
	}
	s := &summary{n: len(rs), load: [2]float64{math.Inf(1), math.Inf(-1)}}
	h := newHist()
	var ops int64
	var cpu float64
	for _, r := range rs {
		s.opsPerSec += r.OpsPerSec / float64(len(rs))
		ops += r.Ops
		cpu += r.ServerCPU
		s.errors += r.Errors
		if b, err := base64.StdEncoding.DecodeString(r.Latency.Histogram); err == nil {
			if rh, err := hdrhistogram.Decode(b); err == nil {
				h.Merge(rh)
			}
		}
		for i, srv := range r.Servers {
			for len(s.rss) <= i {
				s.rss = append(s.rss, 0)
			}
			s.rss[i] += float64(srv.RSSKiB) / 1024 / float64(len(rs))
		}
		if f := strings.Fields(r.LoadAvg); len(f) > 0 {
			if v, err := strconv.ParseFloat(f[0], 64); err == nil {
				s.load[0] = math.Min(s.load[0], v)
				s.load[1] = math.Max(s.load[1], v)
			}
		}
	}
	s.lat = latencyOf(h)
	if ops > 0 {
		s.cpuPer1k = cpu * 1e6 / float64(ops)
	}
	return s
}

func thousands(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func msStr(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func (s *summary) cell(f func(*summary) string) string {
	if s == nil {
		return "–"
	}
	return f(s)
}

func writeReport(out io.Writer, results []*Result, details bool) {
	cases := groupCases(results)
	fmt.Fprintln(out, "| workload | members | etcd ops/s | Cairn ops/s | Cairn ÷ etcd | etcd p50 / p99 ms | Cairn p50 / p99 ms | etcd CPU ms per 1k ops | Cairn CPU ms per 1k ops | etcd RSS MiB per member | Cairn RSS MiB per member | rounds | load avg (1 min) |")
	fmt.Fprintln(out, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, c := range cases {
		e, k := summarize(c.runs["etcd"]), summarize(c.runs["cairn"])
		ratio := "–"
		if e != nil && k != nil && e.opsPerSec > 0 {
			ratio = fmt.Sprintf("%.2f", k.opsPerSec/e.opsPerSec)
		}
		ops := func(s *summary) string {
			v := thousands(s.opsPerSec)
			if s.errors > 0 {
				v += fmt.Sprintf(" (%d errors)", s.errors)
			}
			return v
		}
		lat := func(s *summary) string { return msStr(s.lat.P50) + " / " + msStr(s.lat.P99) }
		cpu := func(s *summary) string { return fmt.Sprintf("%.0f", s.cpuPer1k) }
		rss := func(s *summary) string {
			parts := make([]string, len(s.rss))
			for i, v := range s.rss {
				parts[i] = fmt.Sprintf("%.0f", v)
			}
			return strings.Join(parts, " / ")
		}
		rounds := fmt.Sprintf("%d + %d", len(c.runs["etcd"]), len(c.runs["cairn"]))
		load := loadRange(e, k)
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			c.name, c.members, e.cell(ops), k.cell(ops), ratio, e.cell(lat), k.cell(lat), e.cell(cpu), k.cell(cpu), e.cell(rss), k.cell(rss), rounds, load)
	}

	// Watch fan-out details.
	var watchRows []string
	for _, c := range cases {
		for _, target := range []string{"etcd", "cairn"} {
			for _, r := range c.runs[target] {
				if w := r.Watch; w != nil {
					watchRows = append(watchRows, fmt.Sprintf("| %s | %s | %s | %s | %d | %d | %.1f | %s | %s | %s | %d | %d | %d | %d | %d | %.0f |",
						c.name, c.members, targetName(target), r.Meta["round"], w.Watchers, w.Streams, w.PutsPerSec, msStr(w.PutLatency.P99),
						thousands(float64(w.Expected)), thousands(float64(w.Delivered)), w.Missed, w.Duplicates, w.OutOfOrder, w.Unexpected, w.WatchErrors, w.DrainMs))
				}
			}
		}
	}
	if len(watchRows) > 0 {
		fmt.Fprintln(out)
		fmt.Fprintln(out, "Watch fan-out, every run (deliveries counted over every acknowledged put, warm-up included):")
		fmt.Fprintln(out)
		fmt.Fprintln(out, "| case | members | store | round | watchers | streams | puts/s | put p99 ms | expected | delivered | missed | duplicates | out of order | unexpected | watch errors | drain ms |")
		fmt.Fprintln(out, "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
		for _, row := range watchRows {
			fmt.Fprintln(out, row)
		}
	}

	// Lease keep-alive details.
	var leaseRows []string
	for _, c := range cases {
		for _, target := range []string{"etcd", "cairn"} {
			for _, r := range c.runs[target] {
				if l := r.Lease; l != nil {
					leaseRows = append(leaseRows, fmt.Sprintf("| %s | %s | %s | %s | %s | %d × %d | %s | %d | %s | %.2f | %s | %.1f |",
						c.name, c.members, targetName(target), r.Meta["round"], thousands(float64(l.Leases)), l.Procs, r.Connections,
						thousands(r.OpsPerSec), l.Lost, thousands(l.RaftEntriesPerSec), l.LeaderCores, msStr(r.Latency.P99), l.GrantSec))
				}
			}
		}
	}
	if len(leaseRows) > 0 {
		fmt.Fprintln(out)
		fmt.Fprintln(out, "Lease keep-alive, every run (Raft entries appended by the leader per second and its CPU, in the measured window):")
		fmt.Fprintln(out)
		fmt.Fprintln(out, "| case | members | store | round | sessions | processes × connections | keep-alives/s | leases lost | Raft entries/s | leader CPU cores | keep-alive p99 ms | grant + first renewal s |")
		fmt.Fprintln(out, "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
		for _, row := range leaseRows {
			fmt.Fprintln(out, row)
		}
	}

	if details {
		fmt.Fprintln(out)
		fmt.Fprintln(out, "Every run, in the order run:")
		fmt.Fprintln(out)
		fmt.Fprintln(out, "| case | members | store | round | ops/s | p50 ms | p99 ms | max ms | errors | server CPU s | CPU ms per 1k ops | RSS MiB per member | loadgen CPU s | load avg |")
		fmt.Fprintln(out, "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
		var all []*Result
		for _, r := range results {
			all = append(all, r)
		}
		sort.SliceStable(all, func(i, j int) bool { return all[i].Time < all[j].Time })
		for _, r := range all {
			rss := make([]string, len(r.Servers))
			for i, s := range r.Servers {
				rss[i] = fmt.Sprintf("%.0f", float64(s.RSSKiB)/1024)
			}
			name := r.Meta["case"]
			if name == "" {
				name = r.Workload
			}
			fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s | %d | %.2f | %.0f | %s | %.2f | %s |\n",
				name, r.Meta["members"], targetName(r.Target), r.Meta["round"], thousands(r.OpsPerSec), msStr(r.Latency.P50), msStr(r.Latency.P99), msStr(r.Latency.Max),
				r.Errors, r.ServerCPU, r.CPUPer1k, strings.Join(rss, " / "), r.ClientCPU, r.LoadAvg)
		}
	}
}

func targetName(t string) string {
	if t == "cairn" {
		return "Cairn"
	}
	return t
}

func loadRange(ss ...*summary) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		if s != nil {
			lo, hi = math.Min(lo, s.load[0]), math.Max(hi, s.load[1])
		}
	}
	if math.IsInf(lo, 1) {
		return "–"
	}
	return fmt.Sprintf("%.1f–%.1f", lo, hi)
}
