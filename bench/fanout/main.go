// fanout: a WebRTC fan-out load generator (one WHIP publisher, N WHEP viewers) built on Pion,
// independent of liveroom's own code. run.sh drives it; see bench/README.md.
//
//	fanout run -target liveroom -base http://127.0.0.1:18080 -n 100 -video v.ivf -audio a.ogg -server-pid PID -json out.jsonl
//	fanout run -target whip -whip http://127.0.0.1:18889/bench/whip -whep http://127.0.0.1:18889/bench/whep ...
//	fanout run -target whip -codec h264 -video v.h264 -whip http://127.0.0.1:18080/api/whip -whep http://127.0.0.1:18080/api/whep -token fanout ...   (H.264: Broadcast Box)
//	fanout run -target liveroom ... -n 50 -storm 1000 -storm-seconds 10 -ice-timeout 5s   (storm mode, storm.go)
//	fanout report out.jsonl
//	fanout storm-report out.jsonl
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: fanout run [flags] | fanout report FILE.jsonl... | fanout storm-report FILE.jsonl...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "run":
		if err := run(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "fanout:", err)
			os.Exit(1)
		}
	case "report":
		if err := printReport(os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "fanout report:", err)
			os.Exit(1)
		}
	case "storm-report":
		if err := printStormReport(os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "fanout storm-report:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}

// result is one run (one server, one N), one JSON line.
type result struct {
	Server string `json:"server"`
	Series string `json:"series"`
	Codec  string `json:"codec,omitempty"` // the video codec (vp8, h264); empty in lines from before -codec: vp8
	N      int    `json:"n"`

	Connected int            `json:"connected"` // viewers connected (DTLS) by the window's start
	Refused   map[string]int `json:"refused"`   // offers not answered 201, by status ("error": no reply)
	Dropped   int            `json:"dropped"`   // connected viewers whose ICE failed/disconnected
	NoMedia   int            `json:"no_media"`  // connected viewers without a packet in the window
	ConnectS  float64        `json:"connect_s"` // from the first POST until every viewer connected (or gave up)
	WindowS   float64        `json:"window_s"`

	PubVideoKbps  float64 `json:"pub_video_kbps"`
	PubAudioKbps  float64 `json:"pub_audio_kbps"`
	PubKeyFrames  uint64  `json:"pub_key_frames"`
	PubForcedKeys uint64  `json:"pub_forced_keys"`
	PubPLIs       uint64  `json:"pub_plis"`
	PubNACKs      uint64  `json:"pub_nacks"`
	PubLateFrames uint64  `json:"pub_late_frames"`

	RecvKbpsMean float64 `json:"recv_kbps_mean"` // RTP payload (video + audio), per viewer
	RecvKbpsMin  float64 `json:"recv_kbps_min"`
	RecvKbpsP5   float64 `json:"recv_kbps_p5"`
	LossMean     float64 `json:"loss_pct_mean"` // video + audio packets, from sequence numbers
	LossMax      float64 `json:"loss_pct_max"`
	AudioLoss    float64 `json:"audio_loss_pct_mean"`
	DelivMean    float64 `json:"delivered_pct_mean"` // video codec bytes received / sent, in the window (VP8 frames; H.264 NAL units)
	DelivMin     float64 `json:"delivered_pct_min"`
	Dups         uint64  `json:"dups"`
	Late         uint64  `json:"late"`

	AnswerMed float64 `json:"answer_ms_med"` // from the WHEP POST
	AnswerP90 float64 `json:"answer_ms_p90"`
	ICEMed    float64 `json:"ice_ms_med"` // from the answer to ICE connected
	ICEP90    float64 `json:"ice_ms_p90"`
	DTLSMed   float64 `json:"dtls_ms_med"` // from ICE connected to DTLS done (peer connection connected)
	DTLSP90   float64 `json:"dtls_ms_p90"`
	PktMed    float64 `json:"pkt_after_conn_ms_med"` // from DTLS done to the first RTP packet
	PktP90    float64 `json:"pkt_after_conn_ms_p90"`
	TTFPMed   float64 `json:"ttfp_ms_med"` // from the WHEP POST to the first RTP packet
	TTFPP90   float64 `json:"ttfp_ms_p90"`
	TTFKFMed  float64 `json:"ttfkf_ms_med"` // from the WHEP POST to the first packet of a key frame (VP8 P bit 0; H.264 SPS or IDR)
	TTFKFP90  float64 `json:"ttfkf_ms_p90"`
	NoKey     int     `json:"no_keyframe"`

	JoinCPUms    float64 `json:"join_cpu_ms_per_viewer"` // server CPU while the viewers connected, per viewer
	ServerCPU    float64 `json:"server_cpu"`             // fraction of one core over the window
	GenCPU       float64 `json:"gen_cpu"`                // this generator's own CPU, fraction of one core
	GenRSSKiB    uint64  `json:"gen_rss_kib"`
	ServerCore   float64 `json:"server_core_busy"` // the server's core, busy fraction over the window (anything on it)
	GenCore      float64 `json:"gen_core_busy"`    // the generator's core
	LoadAvg      string  `json:"loadavg"`
	SrvUDPDrops  uint64  `json:"server_udp_drops"`     // datagrams the kernel dropped at the server's media socket (full receive buffer), in the window
	GenUDPDrops  uint64  `json:"gen_udp_drops"`        // at the generator's sockets, in the window
	SrvDropsRun  uint64  `json:"server_udp_drops_run"` // at the server's socket over the whole run
	RSSBeforeKiB uint64  `json:"rss_before_kib"`
	RSSAfterKiB  uint64  `json:"rss_after_kib"`
	RSSPerViewer float64 `json:"rss_per_viewer_kib"`
	Threads      int     `json:"server_threads"`
	FDsBefore    int     `json:"server_fds_before"`
	FDsDuring    int     `json:"server_fds_during"`
	FDsAfter     int     `json:"server_fds_after_close"`

	ViewersDuring     int      `json:"viewers_during"`        // liveroom's room viewer count at the window's end (-1 unknown)
	ViewersAfterClose int      `json:"viewers_after_close"`   // liveroom's count after every viewer left (-1 unknown)
	PubPLIsTotal      uint64   `json:"pub_plis_total"`        // PLI + FIR over the whole run (joins included)
	PubForcedTotal    uint64   `json:"pub_forced_keys_total"` // forced key frames over the whole run
	CleanupS          float64  `json:"cleanup_s"`
	Notes             []string `json:"notes,omitempty"`
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	target := fs.String("target", "liveroom", "liveroom (create a room through the API) or whip (use -whip/-whep)")
	base := fs.String("base", "http://127.0.0.1:18080", "liveroom's URL (target liveroom)")
	whipURL := fs.String("whip", "", "WHIP endpoint (target whip)")
	whepURL := fs.String("whep", "", "WHEP endpoint (target whip)")
	token := fs.String("token", "", "Bearer token for -whip and -whep (target whip)")
	readyURL := fs.String("ready", "", "URL polled until it answers (default: -base, or the -whep endpoint's origin)")
	label := fs.String("label", "", "server label in the report (default: -target)")
	series := fs.String("series", "", "series label (e.g. 1500k)")
	n := fs.Int("n", 10, "viewers")
	videoPath := fs.String("video", "", "the video clip: VP8 in IVF (-codec vp8) or an H.264 Annex-B byte stream (-codec h264)")
	codec := fs.String("codec", "vp8", "video codec of the publisher and the viewers' offers: vp8, or h264 (packetization-mode=1, profile-level-id 42e01f)")
	audioPath := fs.String("audio", "", "Opus Ogg file (one packet per page)")
	fps := fs.Float64("fps", 30, "frame rate when the IVF timestamps say nothing")
	parallel := fs.Int("parallel", 16, "viewers connecting at once")
	connectTimeout := fs.Duration("connect-timeout", 30*time.Second, "give up waiting for viewers to connect after this")
	settle := fs.Duration("settle", time.Second, "after the publisher connects, before the RSS baseline")
	warmup := fs.Duration("warmup", 3*time.Second, "after the viewers connect, before the window")
	window := fs.Duration("window", 10*time.Second, "measured window")
	serverPID := fs.Int("server-pid", 0, "the server's pid (CPU and RSS from /proc)")
	serverCore := fs.Int("server-core", 0, "the core the server is pinned to (its busy time is reported)")
	genCore := fs.Int("gen-core", 1, "the core this generator is pinned to")
	serverUDP := fs.Int("server-udp-port", 0, "the server's media UDP port (its socket's kernel drops are reported)")
	jsonOut := fs.String("json", "", "append the result as one JSON line to this file")
	interceptors := fs.String("viewer-interceptors", "min", "viewers' Pion interceptors: min (NACK generator + receiver reports), none, default")
	pliKeyframe := fs.Bool("pli-keyframe", true, "answer a PLI/FIR with the clip's next key frame (at most one per 300 ms)")
	storm := fs.Int("storm", 0, "storm mode: after a baseline -window, POST this many WHEP offers that never connect, evenly over -storm-seconds, measuring the viewers over a -window from the first (see storm.go)")
	stormSeconds := fs.Duration("storm-seconds", 10*time.Second, "storm mode: the POSTs are spread evenly over this")
	stormOffer := fs.String("storm-offer", "reuse", "storm mode: reuse (one Pion offer, fresh a=ice-ufrag/a=ice-pwd per POST, made before the windows) or pion (a Pion PeerConnection per POST, closed unanswered)")
	iceTimeout := fs.Duration("ice-timeout", 10*time.Second, "storm mode: the server's ICE/DTLS connect timeout (liveroom --ice-timeout-ms); the session count is read this long (+ 3 s) after the last storm POST")
	stormAlign := fs.Bool("storm-align", true, "storm mode: start the storm window one clip loop after the baseline's start (both windows carry the same part of the clip)")
	apiKey := fs.String("api-key", "", "storm mode: Bearer for liveroom's GET /webRTC/stats (its --api-key)")
	fs.Parse(args)

	if *label == "" {
		*label = *target
	}
	v, err := loadVideo(*codec, *videoPath, *fps)
	if err != nil {
		return err
	}
	a, err := loadOgg(*audioPath)
	if err != nil {
		return err
	}
	pubAPI, err := publisherAPI(*codec)
	if err != nil {
		return err
	}
	viewAPI, err := viewerAPI(*interceptors, *codec)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	res := &result{Server: *label, Series: *series, Codec: *codec, N: *n, Refused: map[string]int{}, ViewersAfterClose: -1, ViewersDuring: -1}
	note := func(f string, args ...any) {
		s := fmt.Sprintf(f, args...)
		res.Notes = append(res.Notes, s)
		fmt.Fprintln(os.Stderr, "note:", s)
	}

	// Endpoints.
	ready := *readyURL
	if ready == "" {
		if *target == "liveroom" {
			ready = *base + "/readyz"
		} else {
			ready = *whepURL
		}
	}
	if err := waitReady(ctx, ready, 15*time.Second); err != nil {
		return err
	}
	var pubEndpoint, pubToken, viewEndpoint, roomID string
	switch *target {
	case "liveroom":
		room, err := createRoom(ctx, *base)
		if err != nil {
			return err
		}
		roomID = room.RoomID
		pubEndpoint, pubToken = *base+"/whip/"+room.RoomID, room.HostToken
		viewEndpoint = room.Playback.WhepURL
		if viewEndpoint == "" {
			return fmt.Errorf("create: no playback.whep_url in the reply")
		}
	case "whip":
		pubEndpoint, viewEndpoint, pubToken = *whipURL, *whepURL, *token
	default:
		return fmt.Errorf("unknown target %q", *target)
	}

	viewToken := ""
	if *target == "whip" {
		viewToken = *token
	}
	pub, err := startPublisher(ctx, pubAPI, pubEndpoint, pubToken, *codec, v, a, *pliKeyframe)
	if err != nil {
		return err
	}
	time.Sleep(*settle)
	if *serverPID > 0 {
		res.RSSBeforeKiB = procRSSKiB(*serverPID)
		res.FDsBefore = procFDs(*serverPID)
	}

	// Viewers, *parallel at a time.
	viewers := make([]*viewer, *n)
	joinCPU0, _ := procCPUTicks(*serverPID)
	connStart := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, *parallel)
	for i := range viewers {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			viewers[i] = startViewer(ctx, viewAPI, i, viewEndpoint, viewToken)
			<-sem
		}(i)
	}
	wg.Wait()
	deadline := time.Now().Add(*connectTimeout)
	for time.Now().Before(deadline) {
		pending := 0
		for _, vw := range viewers {
			if vw.err == nil && vw.connAt.Load() == 0 && !vw.failed.Load() {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	res.ConnectS = time.Since(connStart).Seconds()
	if joinCPU1, ok := procCPUTicks(*serverPID); ok && *serverPID > 0 && *n > 0 {
		res.JoinCPUms = float64(joinCPU1-joinCPU0) * 1000 / clockTicks / float64(*n)
	}
	for _, vw := range viewers {
		if vw.err != nil {
			k := "error"
			if vw.status != 0 {
				k = strconv.Itoa(vw.status)
			}
			if res.Refused[k] == 0 {
				note("viewer %d: %v", vw.id, vw.err)
			}
			res.Refused[k]++
		} else if vw.connAt.Load() != 0 {
			res.Connected++
		}
	}
	time.Sleep(*warmup)

	if *storm > 0 {
		cfg := stormConfig{n: *storm, spread: *stormSeconds, window: *window, offerMode: *stormOffer, align: *stormAlign, iceTimeout: *iceTimeout,
			apiKey: *apiKey, endpoint: viewEndpoint, token: viewToken, label: *label, series: *series, roomID: roomID,
			base: *base, target: *target, serverPID: *serverPID, serverCore: *serverCore, genCore: *genCore,
			serverUDP: *serverUDP, jsonOut: *jsonOut}
		if *target == "liveroom" {
			cfg.statsURL = *base + "/webRTC/stats"
		}
		return stormPhase(ctx, cfg, viewAPI, pub, viewers, res)
	}

	// The window.
	snapAll := func() []viewerSnap { return snapViewers(viewers) }
	self := os.Getpid()
	srv0, _ := procCPUTicks(*serverPID)
	gen0, _ := procCPUTicks(self)
	sd0, gd0 := udpDrops(*serverUDP, *serverPID)
	sc0, _ := cpuBusyTicks(*serverCore)
	gc0, _ := cpuBusyTicks(*genCore)
	pv0, pa0 := pub.videoBytes.Load(), pub.audioBytes.Load()
	pk0, pf0, pp0, pn0, pl0 := pub.keyFrames.Load(), pub.forcedKeys.Load(), pub.plis.Load(), pub.nacks.Load(), pub.lateFrames.Load()
	s0 := snapAll()
	t0 := time.Now()
	time.Sleep(*window)
	s1 := snapAll()
	el := time.Since(t0).Seconds()
	srv1, _ := procCPUTicks(*serverPID)
	gen1, _ := procCPUTicks(self)
	sd1, gd1 := udpDrops(*serverUDP, *serverPID)
	res.SrvUDPDrops, res.GenUDPDrops = sd1-sd0, gd1-gd0
	sc1, _ := cpuBusyTicks(*serverCore)
	gc1, _ := cpuBusyTicks(*genCore)
	res.ServerCore = float64(sc1-sc0) / clockTicks / el
	res.GenCore = float64(gc1-gc0) / clockTicks / el
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		res.LoadAvg = strings.Join(strings.Fields(string(la))[:3], " ")
	}
	pv1, pa1 := pub.videoBytes.Load(), pub.audioBytes.Load()
	res.WindowS = el
	if *serverPID > 0 {
		res.ServerCPU = float64(srv1-srv0) / clockTicks / el
		res.RSSAfterKiB = procRSSKiB(*serverPID)
		res.Threads = procThreads(*serverPID)
		res.FDsDuring = procFDs(*serverPID)
		if *n > 0 {
			res.RSSPerViewer = (float64(res.RSSAfterKiB) - float64(res.RSSBeforeKiB)) / float64(*n)
		}
	}
	res.GenCPU = float64(gen1-gen0) / clockTicks / el
	if res.ServerCore-res.ServerCPU > 0.25 || res.GenCore-res.GenCPU > 0.25 {
		note("the pinned cores were busier than the processes on them (other processes, or kernel work charged to no process): server core %.0f%% busy (server %.0f%%), generator core %.0f%% (generator %.0f%%)",
			res.ServerCore*100, res.ServerCPU*100, res.GenCore*100, res.GenCPU*100)
	}
	res.GenRSSKiB = procRSSKiB(self)
	if *target == "liveroom" {
		if c, err := roomViewers(ctx, *base, roomID); err == nil {
			res.ViewersDuring = c
		}
	}
	res.PubVideoKbps = float64(pv1-pv0) * 8 / el / 1000
	res.PubAudioKbps = float64(pa1-pa0) * 8 / el / 1000
	res.PubKeyFrames = pub.keyFrames.Load() - pk0
	res.PubForcedKeys = pub.forcedKeys.Load() - pf0
	res.PubPLIs = pub.plis.Load() - pp0
	res.PubNACKs = pub.nacks.Load() - pn0
	res.PubLateFrames = pub.lateFrames.Load() - pl0

	var kbps, loss, aloss, deliv, ans, ice, dtls, pkt, ttfp, ttfkf []float64
	for i, vw := range viewers {
		if vw.err != nil || vw.connAt.Load() == 0 {
			continue
		}
		if vw.failed.Load() {
			res.Dropped++
		}
		d0, d1 := s0[i], s1[i]
		k, l, none := windowFigures(d0, d1, el)
		kbps, loss = append(kbps, k), append(loss, l)
		if none {
			res.NoMedia++
		}
		if ae := float64(d1.a.highest - d0.a.highest); ae > 0 {
			aloss = append(aloss, 100*maxf(0, ae-float64(d1.a.unique-d0.a.unique))/ae)
		}
		if pv1 > pv0 {
			deliv = append(deliv, 100*float64(d1.v.cbytes-d0.v.cbytes)/float64(pv1-pv0))
		}
		res.Dups += d1.v.dups - d0.v.dups + d1.a.dups - d0.a.dups
		res.Late += d1.v.late - d0.v.late + d1.a.late - d0.a.late
		ms := func(ns int64) float64 { return float64(ns) / 1e6 }
		if x := vw.answerAt.Load(); x > 0 {
			ans = append(ans, ms(x))
			if y := vw.iceAt.Load(); y > 0 {
				ice = append(ice, ms(y-x))
				if z := vw.connAt.Load(); z > 0 {
					dtls = append(dtls, ms(z-y))
				}
			}
		}
		if x, z := vw.firstPkt.Load(), vw.connAt.Load(); x > 0 && z > 0 {
			pkt = append(pkt, ms(x-z))
		}
		if x := vw.firstPkt.Load(); x > 0 {
			ttfp = append(ttfp, ms(x))
		}
		if x := vw.firstKey.Load(); x > 0 {
			ttfkf = append(ttfkf, ms(x))
		} else {
			res.NoKey++
		}
	}
	res.RecvKbpsMean, res.RecvKbpsMin, res.RecvKbpsP5 = mean(kbps), minOf(kbps), quantile(kbps, 0.05)
	res.LossMean, res.LossMax, res.AudioLoss = mean(loss), maxOf(loss), mean(aloss)
	res.DelivMean, res.DelivMin = mean(deliv), minOf(deliv)
	res.AnswerMed, res.AnswerP90 = quantile(ans, 0.5), quantile(ans, 0.9)
	res.ICEMed, res.ICEP90 = quantile(ice, 0.5), quantile(ice, 0.9)
	res.DTLSMed, res.DTLSP90 = quantile(dtls, 0.5), quantile(dtls, 0.9)
	res.PktMed, res.PktP90 = quantile(pkt, 0.5), quantile(pkt, 0.9)
	res.TTFPMed, res.TTFPP90 = quantile(ttfp, 0.5), quantile(ttfp, 0.9)
	if res.ViewersDuring >= 0 && res.ViewersDuring != res.Connected-res.Dropped {
		note("liveroom counted %d viewers at the window's end; %d were connected", res.ViewersDuring, res.Connected-res.Dropped)
	}
	res.TTFKFMed, res.TTFKFP90 = quantile(ttfkf, 0.5), quantile(ttfkf, 0.9)
	if res.GenCPU > 0.85 {
		note("the generator used %.0f%% of its core: figures at this N may be the generator's limit", res.GenCPU*100)
	}
	if res.SrvUDPDrops > 0 || res.GenUDPDrops > 0 {
		note("the kernel dropped datagrams at full receive buffers in the window: %d at the server's media socket, %d at the generator's sockets", res.SrvUDPDrops, res.GenUDPDrops)
	}
	if res.PubLateFrames > 0 {
		note("the publisher sent %d frames late (its pacing fell behind)", res.PubLateFrames)
	}

	// Teardown: every viewer DELETEs its session; liveroom's viewer count must come back to 0.
	closeStart := time.Now()
	for _, vw := range viewers {
		wg.Add(1)
		sem <- struct{}{}
		go func(vw *viewer) {
			defer wg.Done()
			vw.close()
			<-sem
		}(vw)
	}
	wg.Wait()
	if *target == "liveroom" {
		cnt := -1
		for time.Since(closeStart) < 15*time.Second {
			c, err := roomViewers(ctx, *base, roomID)
			if err == nil {
				cnt = c
				if c == 0 {
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		res.ViewersAfterClose = cnt
		res.CleanupS = time.Since(closeStart).Seconds()
		if cnt != 0 {
			note("liveroom still counts %d viewers %.1f s after every viewer's DELETE", cnt, res.CleanupS)
		}
	}
	res.PubPLIsTotal, res.PubForcedTotal = pub.plis.Load(), pub.forcedKeys.Load()
	res.SrvDropsRun, _ = udpDrops(*serverUDP, *serverPID)
	pub.close()
	time.Sleep(500 * time.Millisecond)
	if *serverPID > 0 {
		res.FDsAfter = procFDs(*serverPID)
	}

	line, _ := json.Marshal(res)
	if *jsonOut != "" {
		f, err := os.OpenFile(*jsonOut, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		f.Write(append(line, '\n'))
		f.Close()
	}
	fmt.Printf("%-9s %-6s N=%-4d conn=%-4d kbps mean %.0f min %.0f p5 %.0f | loss %.2f%% max %.2f%% | deliv %.1f%% | ttfp %.0f/%.0f ttfkf %.0f/%.0f ice %.0f/%.0f ms | srv cpu %.0f%% gen cpu %.0f%% | rss %.1f->%.1f MB (%.0f KiB/viewer)\n",
		res.Server, res.Series, res.N, res.Connected, res.RecvKbpsMean, res.RecvKbpsMin, res.RecvKbpsP5, res.LossMean, res.LossMax,
		res.DelivMean, res.TTFPMed, res.TTFPP90, res.TTFKFMed, res.TTFKFP90, res.ICEMed, res.ICEP90,
		res.ServerCPU*100, res.GenCPU*100, float64(res.RSSBeforeKiB)/1024, float64(res.RSSAfterKiB)/1024, res.RSSPerViewer)
	return nil
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

func waitReady(ctx context.Context, u string, d time.Duration) error {
	deadline := time.Now().Add(d)
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		res, err := httpClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode < 500 {
				return nil
			}
			last = fmt.Errorf("HTTP %d", res.StatusCode)
		} else {
			last = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s: %v", u, d, last)
}

type createReply struct {
	RoomID    string `json:"room_id"`
	HostToken string `json:"host_token"`
	WhipURL   string `json:"whip_url"`
	Playback  struct {
		WhepURL string `json:"whep_url"`
	} `json:"playback"`
}

func createRoom(ctx context.Context, base string) (*createReply, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/livestream/create",
		strings.NewReader(`{"title":"fanout bench","host":"fanout"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("create: HTTP %d: %.300s", res.StatusCode, body)
	}
	var r createReply
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	return &r, nil
}

func roomViewers(ctx context.Context, base, roomID string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/livestream/rooms/"+roomID, nil)
	res, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		return 0, err
	}
	if v, ok := m["viewers"].(float64); ok {
		return int(v), nil
	}
	return 0, errors.New("no viewers field")
}

// ---- report ----

func printReport(files []string, w io.Writer) error {
	var rs []result
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			if strings.Contains(line, `"kind":"storm"`) { // storm mode's lines: fanout storm-report
				continue
			}
			var r result
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			rs = append(rs, r)
		}
	}
	var seriesOrder []string
	seen := map[string]bool{}
	for _, r := range rs {
		if !seen[r.Series] {
			seen[r.Series] = true
			seriesOrder = append(seriesOrder, r.Series)
		}
	}
	for _, s := range seriesOrder {
		fmt.Fprintf(w, "\n== series %s ==\n", s)
		fmt.Fprintf(w, "%-14s %5s %5s %5s | %5s %5s %5s | %5s %5s | %6s %6s | %6s %5s %7s %5s | %5s %5s %5s %5s | %5s %5s %5s %5s %6s | %6s %6s %6s | %6s %6s | %s\n",
			"server", "N", "conn", "refus", "kbps", "min", "p5", "loss%", "max", "deliv%", "min",
			"ttfp50", "p90", "ttfkf50", "p90", "ice50", "dtls", "pkt50", "p90", "srv%", "core%", "gen%", "core%", "joinms",
			"rss0MB", "rss1MB", "KiB/v", "sdrops", "gdrops", "pub kbps/keys/forced/PLI/NACK/late in the window; PLI, forced in the run; room viewers during, after")
		for _, r := range rs {
			if r.Series != s {
				continue
			}
			ref := 0
			for _, c := range r.Refused {
				ref += c
			}
			after := ""
			if r.ViewersAfterClose >= 0 || r.ViewersDuring >= 0 {
				after = fmt.Sprintf("; %d, %d (%.1f s)", r.ViewersDuring, r.ViewersAfterClose, r.CleanupS)
			}
			fmt.Fprintf(w, "%-14s %5d %5d %5d | %5.0f %5.0f %5.0f | %5.2f %5.2f | %6.1f %6.1f | %6.0f %5.0f %7.0f %5.0f | %5.0f %5.0f %5.0f %5.0f | %5.0f %5.0f %5.0f %5.0f %6.2f | %6.1f %6.1f %6.0f | %6d %6d | %.0f/%d/%d/%d/%d/%d; %d, %d%s\n",
				r.Server, r.N, r.Connected, ref, r.RecvKbpsMean, r.RecvKbpsMin, r.RecvKbpsP5, r.LossMean, r.LossMax, r.DelivMean, r.DelivMin,
				r.TTFPMed, r.TTFPP90, r.TTFKFMed, r.TTFKFP90, r.ICEMed, r.DTLSMed, r.PktMed, r.PktP90, r.ServerCPU*100, r.ServerCore*100, r.GenCPU*100, r.GenCore*100, r.JoinCPUms,
				float64(r.RSSBeforeKiB)/1024, float64(r.RSSAfterKiB)/1024, r.RSSPerViewer, r.SrvUDPDrops, r.GenUDPDrops,
				r.PubVideoKbps, r.PubKeyFrames, r.PubForcedKeys, r.PubPLIs, r.PubNACKs, r.PubLateFrames, r.PubPLIsTotal, r.PubForcedTotal, after)
		}
		var servers []string
		sseen := map[string]bool{}
		for _, r := range rs {
			if r.Series == s && !sseen[r.Server] {
				sseen[r.Server] = true
				servers = append(servers, r.Server)
			}
		}
		for _, sv := range servers {
			var x, y, rss []float64
			var vpc []string
			codecs := map[string]bool{}
			for _, r := range rs {
				if r.Series != s || r.Server != sv || r.N == 0 {
					continue
				}
				c := r.Codec
				if c == "" {
					c = "vp8"
				}
				codecs[c] = true
				x = append(x, float64(r.N))
				y = append(y, r.ServerCPU*100)
				rss = append(rss, r.RSSPerViewer)
				vpc = append(vpc, fmt.Sprintf("N=%d: %.0f", r.N, float64(r.N)/maxf(r.ServerCPU, 1e-9)))
				if r.GenCPU > 0.85 {
					vpc[len(vpc)-1] += " (generator-bound)"
				}
			}
			var cs []string
			for c := range codecs {
				cs = append(cs, c)
			}
			sort.Strings(cs)
			fmt.Fprintf(w, "%s %s (video %s): viewers per core (N / CPU fraction): %s\n", sv, s, strings.Join(cs, "+"), strings.Join(vpc, ", "))
			if a, b, ok := leastSquares(x, y); ok {
				fmt.Fprintf(w, "%s %s: CPU%% = %.2f + %.3f x N (least squares over %d runs)", sv, s, a, b, len(x))
				if b > 0 {
					fmt.Fprintf(w, "; one core (100%%) at N = %.0f by that line", (100-a)/b)
				}
				fmt.Fprintln(w)
			}
			if len(rss) > 0 {
				sorted := append([]float64(nil), rss...)
				sort.Float64s(sorted)
				fmt.Fprintf(w, "%s %s: RSS per viewer (RSS after - before) / N: median %.0f KiB (min %.0f, max %.0f)\n", sv, s, quantile(sorted, 0.5), sorted[0], sorted[len(sorted)-1])
			}
		}
	}
	// Ratios at equal N: each server's CPU and RSS per viewer against the first server listed
	// (liveroom), from runs of the same series and N in this report.
	fmt.Fprintln(w)
	for _, s := range seriesOrder {
		var servers []string
		seen := map[string]bool{}
		for _, r := range rs {
			if r.Series == s && !seen[r.Server] {
				seen[r.Server] = true
				servers = append(servers, r.Server)
			}
		}
		if len(servers) < 2 {
			continue
		}
		ref := servers[0] // liveroom (one worker) when it ran: the others against it
		for _, sv := range servers {
			if sv == "liveroom" {
				ref = sv
			}
		}
		var parts []string
		for _, r := range rs {
			if r.Series != s || r.Server != ref || r.ServerCPU <= 0 {
				continue
			}
			for _, o := range rs {
				if o.Series != s || o.N != r.N || o.Server == ref || o.ServerCPU <= 0 {
					continue
				}
				parts = append(parts, fmt.Sprintf("N=%d %s/%s CPU %.2fx", r.N, o.Server, ref, o.ServerCPU/r.ServerCPU))
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "%s: ratios at equal N: %s\n", s, strings.Join(parts, "; "))
		}
	}
	var notes []string
	for _, r := range rs {
		for _, n := range r.Notes {
			notes = append(notes, fmt.Sprintf("%s %s N=%d: %s", r.Server, r.Series, r.N, n))
		}
		for k, c := range r.Refused {
			notes = append(notes, fmt.Sprintf("%s %s N=%d: %d offers refused (%s)", r.Server, r.Series, r.N, c, k))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range notes {
			fmt.Fprintln(w, "  "+n)
		}
	}
	return nil
}
