package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on every
// Linux architecture Go supports (sysconf(_SC_CLK_TCK) would need cgo).
const clockTicks = 100

// procCPU returns the CPU time (user + system) a process has used, in seconds.
func procCPU(pid string) (float64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: split after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%s/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%s/stat: bad utime/stime", pid)
	}
	return float64(utime+stime) / clockTicks, nil
}

// procMem returns a process's resident set size now and at its peak, in KiB.
func procMem(pid string) (rssKiB, hwmKiB int64, err error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, err
		}
		if name == "VmRSS" {
			rssKiB = v
		} else {
			hwmKiB = v
		}
	}
	return rssKiB, hwmKiB, nil
}

// ServerStat is one server process over the measured window.
type ServerStat struct {
	PID    string  `json:"pid"`
	CPUSec float64 `json:"cpu_s"`   // user + system CPU seconds used in the window
	RSSKiB int64   `json:"rss_kib"` // resident set at the end of the window
	HWMKiB int64   `json:"hwm_kib"` // peak resident set of the process's life so far
	Error  string  `json:"error,omitempty"`
}

// cpuSampler samples the CPU time of the servers (and of this process) at the start and
// end of the measured window.
type cpuSampler struct {
	pids       []string
	start      []float64
	startErr   []error
	selfStart  float64
	Servers    []ServerStat
	SelfCPUSec float64
}

func newCPUSampler(pids []string) *cpuSampler {
	return &cpuSampler{pids: pids}
}

func (c *cpuSampler) begin() {
	c.start = make([]float64, len(c.pids))
	c.startErr = make([]error, len(c.pids))
	for i, pid := range c.pids {
		c.start[i], c.startErr[i] = procCPU(pid)
	}
	c.selfStart, _ = procCPU("self")
}

func (c *cpuSampler) end() {
	self, _ := procCPU("self")
	c.SelfCPUSec = self - c.selfStart
	c.Servers = make([]ServerStat, len(c.pids))
	for i, pid := range c.pids {
		st := ServerStat{PID: pid}
		cpu, err := procCPU(pid)
		if err == nil {
			err = c.startErr[i]
		}
		if err == nil {
			st.CPUSec = cpu - c.start[i]
			st.RSSKiB, st.HWMKiB, err = procMem(pid)
		}
		if err != nil {
			st.Error = err.Error()
		}
		c.Servers[i] = st
	}
}

// total returns the CPU seconds of every server together.
func (c *cpuSampler) total() float64 {
	var t float64
	for _, s := range c.Servers {
		t += s.CPUSec
	}
	return t
}
