package main

import (
	"encoding/binary"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// rtpHeader parses what the counters need from a raw RTP packet: the sequence number and
// the payload (CSRCs, header extension and padding removed). ok is false for a packet too
// short to be RTP.
func rtpHeader(b []byte) (seq uint16, payload []byte, ok bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return 0, nil, false
	}
	seq = binary.BigEndian.Uint16(b[2:4])
	hl := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 {
		if len(b) < hl+4 {
			return 0, nil, false
		}
		hl += 4 + 4*int(binary.BigEndian.Uint16(b[hl+2:hl+4]))
	}
	end := len(b)
	if b[0]&0x20 != 0 && end > hl {
		end -= int(b[end-1])
	}
	if hl > end {
		return 0, nil, false
	}
	return seq, b[hl:end], true
}

// vp8Descriptor returns the length of the VP8 payload descriptor (RFC 7741 §4.2) and whether
// this packet starts a key frame: S=1, partition 0, and the VP8 frame tag's P bit 0.
func vp8Descriptor(p []byte) (n int, keyStart bool, ok bool) {
	if len(p) < 1 {
		return 0, false, false
	}
	n = 1
	start := p[0]&0x10 != 0 && p[0]&0x0f == 0
	if p[0]&0x80 != 0 { // X
		if len(p) < 2 {
			return 0, false, false
		}
		x := p[1]
		n = 2
		if x&0x80 != 0 { // I: PictureID, 7 or 15 bits
			if len(p) < n+1 {
				return 0, false, false
			}
			if p[n]&0x80 != 0 {
				n += 2
			} else {
				n++
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			n++
		}
		if x&0x30 != 0 { // T or K
			n++
		}
	}
	if len(p) < n {
		return 0, false, false
	}
	if start && len(p) > n {
		keyStart = p[n]&0x01 == 0
	}
	return n, keyStart, true
}

// h264Payload returns the H.264 bytes an RTP payload (RFC 6184, packetization-mode 1) carries,
// counted as the sender's NAL units without start codes (single NAL: the payload; STAP-A: the
// aggregated NAL units without the STAP-A header and their 2-byte sizes; FU-A: the fragment plus,
// in the first, the NAL header byte the FU indicator and header stand for), and whether the
// packet starts a key frame: it holds an SPS (7), which Pion's payloader sends in a STAP-A right
// before the IDR, or begins an IDR slice (5; single NAL or the first FU-A fragment).
func h264Payload(p []byte) (codecLen int, keyStart bool, ok bool) {
	if len(p) < 1 {
		return 0, false, false
	}
	switch t := p[0] & 0x1f; {
	case t >= 1 && t <= 23:
		return len(p), t == 5 || t == 7, true
	case t == 24: // STAP-A
		for off := 1; off+2 <= len(p); {
			n := int(binary.BigEndian.Uint16(p[off : off+2]))
			off += 2
			if n == 0 || off+n > len(p) {
				return 0, false, false
			}
			if nt := p[off] & 0x1f; nt == 5 || nt == 7 {
				keyStart = true
			}
			codecLen += n
			off += n
		}
		return codecLen, keyStart, true
	case t == 28: // FU-A
		if len(p) < 2 {
			return 0, false, false
		}
		start := p[1]&0x80 != 0
		codecLen = len(p) - 2
		if start {
			codecLen++
		}
		return codecLen, start && p[1]&0x1f == 5, true
	}
	return len(p), false, true
}

// seqCounter counts the packets of one RTP stream: unique sequence numbers received (a
// 65536-bit window, so repairs count once and duplicates not at all), the highest extended
// sequence number, and bytes. Loss over a window = 1 - unique received / (highest step).
type seqCounter struct {
	mu       sync.Mutex
	started  bool
	highest  int64
	bits     [1024]uint64
	unique   uint64
	dups     uint64
	late     uint64 // arrived below the highest (reordered or a repair)
	packets  uint64
	bytes    uint64 // RTP payload bytes (what the codec sent, plus the VP8 descriptor / H.264 STAP-A, FU-A headers)
	cbytes   uint64 // codec bytes: payload less the VP8 descriptor, or H.264 NAL unit bytes (video); = bytes for audio
	keyStart uint64
}

type seqSnap struct {
	highest                                    int64
	unique, dups, late, packets, bytes, cbytes uint64
}

func (c *seqCounter) bit(s int64) (word int, mask uint64) {
	v := uint16(s)
	return int(v >> 6), 1 << (v & 63)
}

func (c *seqCounter) add(seq uint16, payloadLen, codecLen int) {
	c.mu.Lock()
	c.packets++
	if !c.started {
		c.started = true
		c.highest = int64(seq)
		w, m := c.bit(c.highest)
		c.bits[w] |= m
		c.unique++
		c.bytes += uint64(payloadLen)
		c.cbytes += uint64(codecLen)
		c.mu.Unlock()
		return
	}
	diff := int64(int16(seq - uint16(c.highest)))
	ext := c.highest + diff
	if diff > 0 {
		for s := c.highest + 1; s < ext; s++ { // the gap: not received (yet)
			w, m := c.bit(s)
			c.bits[w] &^= m
		}
		c.highest = ext
		w, m := c.bit(ext)
		c.bits[w] |= m
		c.unique++
		c.bytes += uint64(payloadLen)
		c.cbytes += uint64(codecLen)
	} else {
		w, m := c.bit(ext)
		if c.bits[w]&m != 0 {
			c.dups++
		} else {
			c.bits[w] |= m
			c.unique++
			c.late++
			c.bytes += uint64(payloadLen)
			c.cbytes += uint64(codecLen)
		}
	}
	c.mu.Unlock()
}

func (c *seqCounter) snap() seqSnap {
	c.mu.Lock()
	defer c.mu.Unlock()
	return seqSnap{c.highest, c.unique, c.dups, c.late, c.packets, c.bytes, c.cbytes}
}

// ---- /proc ----

// procCPUTicks: utime + stime of a process (all its threads), in clock ticks (USER_HZ, 100).
func procCPUTicks(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return u + st, true
}

const clockTicks = 100 // USER_HZ on Linux

// cpuBusyTicks: busy (non-idle, non-iowait) ticks of one core from /proc/stat.
func cpuBusyTicks(core int) (uint64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	name := "cpu" + strconv.Itoa(core)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || f[0] != name {
			continue
		}
		var busy uint64
		for i, x := range f[1:] {
			if i == 3 || i == 4 || i >= 7 { // idle, iowait; guest counts are inside user
				continue
			}
			v, _ := strconv.ParseUint(x, 10, 64)
			busy += v
		}
		return busy, true
	}
	return 0, false
}

// procRSSKiB: VmRSS of a process in KiB (0 if unknown).
func procRSSKiB(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				v, _ := strconv.ParseUint(f[1], 10, 64)
				return v
			}
		}
	}
	return 0
}

func procThreads(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Threads:") {
			v, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "Threads:")))
			return v
		}
	}
	return 0
}

func procFDs(pid int) int {
	e, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return 0
	}
	return len(e)
}

// udpDrops sums the per-socket receive drops of /proc/net/udp and udp6 (this network
// namespace): those of the server's media sockets and of every other socket (here: the
// generator's). The server's are those bound to port `port`, or, with port 0 and a pid, every
// UDP socket the process holds (a server with one socket per session, like Broadcast Box
// without its UDP mux): matched by inode through /proc/<pid>/fd.
func udpDrops(port, pid int) (server, others uint64) {
	var inodes map[string]bool
	if port == 0 && pid > 0 {
		inodes = socketInodes(pid)
	}
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for i, line := range strings.Split(string(b), "\n") {
			fs := strings.Fields(line)
			if i == 0 || len(fs) < 13 {
				continue
			}
			d, _ := strconv.ParseUint(fs[len(fs)-1], 10, 64)
			local := fs[1]
			j := strings.LastIndexByte(local, ':')
			p, _ := strconv.ParseUint(local[j+1:], 16, 32)
			if (port > 0 && int(p) == port) || inodes[fs[9]] {
				server += d
			} else {
				others += d
			}
		}
	}
	return server, others
}

// socketInodes: the inodes of a process's sockets ("socket:[N]" links in /proc/<pid>/fd).
func socketInodes(pid int) map[string]bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	m := make(map[string]bool, len(es))
	for _, e := range es {
		l, err := os.Readlink(dir + "/" + e.Name())
		if err == nil && strings.HasPrefix(l, "socket:[") && strings.HasSuffix(l, "]") {
			m[l[len("socket:["):len(l)-1]] = true
		}
	}
	return m
}

// ---- small statistics ----

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 1 {
		return s[0]
	}
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

func minOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	m := xs[0]
	for _, x := range xs {
		m = math.Min(m, x)
	}
	return m
}

func maxOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	m := xs[0]
	for _, x := range xs {
		m = math.Max(m, x)
	}
	return m
}

// leastSquares fits y = a + b*x.
func leastSquares(x, y []float64) (a, b float64, ok bool) {
	n := float64(len(x))
	if len(x) < 2 {
		return 0, 0, false
	}
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0, 0, false
	}
	b = (n*sxy - sx*sy) / d
	a = (sy - b*sx) / n
	return a, b, true
}

// viewerSnap: one viewer's video and audio sequence counters at a window's edge.
type viewerSnap struct{ v, a seqSnap }

func snapViewers(vs []*viewer) []viewerSnap {
	out := make([]viewerSnap, len(vs))
	for i, vw := range vs {
		out[i] = viewerSnap{vw.video.snap(), vw.audio.snap()}
	}
	return out
}

// windowFigures: a viewer's received kbps over a window of el seconds and its loss in % (video
// and audio together); noMedia when nothing was expected (loss then counts 100 %).
func windowFigures(d0, d1 viewerSnap, el float64) (kbps, loss float64, noMedia bool) {
	bytes := (d1.v.bytes - d0.v.bytes) + (d1.a.bytes - d0.a.bytes)
	kbps = float64(bytes) * 8 / el / 1000
	exp := float64(d1.v.highest-d0.v.highest) + float64(d1.a.highest-d0.a.highest)
	got := float64(d1.v.unique-d0.v.unique) + float64(d1.a.unique-d0.a.unique)
	if exp <= 0 {
		return kbps, 100, true
	}
	return kbps, 100 * maxf(0, exp-got) / exp, false
}
