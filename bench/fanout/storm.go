package main

// Storm mode (issue 12: "a storm of 1,000 WHEP POSTs in 10 s that never connect lowers existing
// viewers' delivered bitrate by < 1 % and leaves no session behind"). With -storm N, `fanout run`
// connects its publisher and steady viewers as usual, then measures the steady viewers over
// three windows of -window each: a baseline, one during which N WHEP offers are POSTed at an
// even pace over -storm-seconds (starting with the window) and never followed up, and one after
// (when the server drops the storm's sessions at its ICE timeout). Then it waits past the ICE
// timeout and reads the server's session count (liveroom's GET /webRTC/stats).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// stormConfig is what run() hands over once the publisher and steady viewers are up.
type stormConfig struct {
	n          int
	spread     time.Duration // the N POSTs are spread evenly over this
	window     time.Duration // each of the three windows
	offerMode  string        // reuse: one Pion offer, fresh ICE credentials per POST; pion: a PeerConnection per POST
	align      bool          // start the storm window one clip loop after the baseline's start
	iceTimeout time.Duration // the server's ICE/DTLS connect timeout (what run.sh passes it)
	statsURL   string        // liveroom's GET /webRTC/stats ("" for none)
	apiKey     string        // Bearer for statsURL
	endpoint   string        // the WHEP endpoint of the steady viewers' room
	token      string

	label      string
	series     string
	roomID     string
	base       string
	target     string
	serverPID  int
	serverCore int
	genCore    int
	serverUDP  int
	jsonOut    string
}

// stormWindow: the steady viewers and the server over one window.
type stormWindow struct {
	Name         string  `json:"name"`
	Seconds      float64 `json:"seconds"`
	Viewers      int     `json:"viewers"` // steady viewers measured (connected before the baseline)
	NoMedia      int     `json:"no_media"`
	KbpsMean     float64 `json:"kbps_mean"` // RTP payload (video + audio) received per steady viewer
	KbpsMin      float64 `json:"kbps_min"`
	KbpsP5       float64 `json:"kbps_p5"`
	LossMean     float64 `json:"loss_pct_mean"`
	LossMax      float64 `json:"loss_pct_max"`
	DelivMean    float64 `json:"delivered_pct_mean"` // video codec bytes received / sent by the publisher, in the window (VP8 frames; H.264 NAL units)
	DelivMin     float64 `json:"delivered_pct_min"`
	PubVideoKbps float64 `json:"pub_video_kbps"`
	PubAudioKbps float64 `json:"pub_audio_kbps"`
	PubPLIs      uint64  `json:"pub_plis"`
	PubForced    uint64  `json:"pub_forced_keys"`
	PubNACKs     uint64  `json:"pub_nacks"`
	PubLate      uint64  `json:"pub_late_frames"`
	ServerCPU    float64 `json:"server_cpu"`
	ServerCore   float64 `json:"server_core_busy"`
	GenCPU       float64 `json:"gen_cpu"`
	GenCore      float64 `json:"gen_core_busy"`
	SrvUDPDrops  uint64  `json:"server_udp_drops"`
	GenUDPDrops  uint64  `json:"gen_udp_drops"`
	Dropped      int     `json:"dropped"`      // steady viewers whose ICE failed/disconnected by the window's end
	SessionsEnd  int     `json:"sessions_end"` // /webRTC/stats sessions at the window's end (-1 unknown)
	RoomViewers  int     `json:"room_viewers"` // the room's viewer count at the window's end (-1 unknown)
}

type stormSample struct {
	T        float64 `json:"t"` // seconds from the storm's first POST
	at       time.Time
	Sessions int    `json:"sessions"`
	RSSKiB   uint64 `json:"rss_kib"`
}

// mediaStats: the fields of liveroom's GET /webRTC/stats that the report uses.
type mediaStats struct {
	Sessions        int    `json:"sessions"`
	Inputs          int    `json:"inputs"`
	SessionsRefused uint64 `json:"sessions_refused"`
	SessionsFailed  uint64 `json:"sessions_failed"`
	Unrouted        uint64 `json:"unrouted_datagrams"`
	Retransmissions uint64 `json:"retransmissions"`
	UDP             struct {
		Received    uint64 `json:"received"`
		KernelDrops uint64 `json:"kernel_drops"`
		Sent        uint64 `json:"sent"`
		SendDropped uint64 `json:"send_dropped"`
		SendErrors  uint64 `json:"send_errors"`
	} `json:"udp"`
}

type stormResult struct {
	Kind         string         `json:"kind"` // "storm"
	Server       string         `json:"server"`
	Series       string         `json:"series"`
	Viewers      int            `json:"viewers"`   // steady viewers asked for
	Connected    int            `json:"connected"` // steady viewers connected before the baseline
	Refused      map[string]int `json:"refused"`   // steady viewers' offers not answered 201
	ConnectS     float64        `json:"connect_s"`
	StormN       int            `json:"storm_n"`
	StormSeconds float64        `json:"storm_seconds"`
	OfferMode    string         `json:"offer_mode"`
	ICETimeoutMS int64          `json:"ice_timeout_ms"`

	Windows []stormWindow `json:"windows"` // baseline, storm, after
	GapS    float64       `json:"gap_s"`   // between the baseline's end and the storm window's start

	Posted       int            `json:"posted"`  // POSTs sent
	Created      int            `json:"created"` // answered 201 with an SDP answer
	StormRefused map[string]int `json:"storm_refused"`
	StormErrors  []string       `json:"storm_errors,omitempty"` // the first reply of each kind
	PostMsMed    float64        `json:"post_ms_med"`
	PostMsP90    float64        `json:"post_ms_p90"`
	PostMsP99    float64        `json:"post_ms_p99"`
	PostMsMax    float64        `json:"post_ms_max"`
	SendSpanS    float64        `json:"send_span_s"`  // first POST sent to the last one sent
	LastReplyS   float64        `json:"last_reply_s"` // first POST sent to the last reply
	MaxInFlight  int64          `json:"max_in_flight"`
	PaceLateMax  float64        `json:"pace_late_ms_max"` // how far behind its schedule a POST left, at most

	SessionsBefore int           `json:"sessions_before"` // /webRTC/stats before the storm
	SessionsPeak   int           `json:"sessions_peak"`
	PeakAtS        float64       `json:"peak_at_s"`
	SessionsLeft   int           `json:"sessions_left"` // after waiting past the ICE timeout (-1 unknown)
	LeftReadAtS    float64       `json:"left_read_at_s"`
	SettledAtS     float64       `json:"settled_at_s"` // first sample after the peak back at SessionsBefore (-1 never)
	StatsBefore    *mediaStats   `json:"stats_before,omitempty"`
	StatsAfter     *mediaStats   `json:"stats_after,omitempty"`
	Timeline       []stormSample `json:"timeline,omitempty"`

	RSSBeforeKiB   uint64 `json:"rss_before_kib"` // the server before the storm (publisher + steady viewers)
	RSSPeakKiB     uint64 `json:"rss_peak_kib"`
	RSSLeftKiB     uint64 `json:"rss_left_kib"` // when SessionsLeft was read
	FDsBefore      int    `json:"fds_before"`
	FDsLeft        int    `json:"fds_left"`
	SessionsAtEnd  int    `json:"sessions_after_teardown"` // after the steady viewers and the publisher DELETEd (-1 unknown)
	RoomAfterClose int    `json:"room_viewers_after_close"`

	Notes []string `json:"notes,omitempty"`
}

// stormPost is one storm POST.
type stormPost struct {
	status int // 0: no reply
	ms     float64
	err    string
	sentAt time.Duration // since the storm's start
	doneAt time.Duration
}

var stormClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 64, DisableCompression: true},
}

const iceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func randomICE(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = iceChars[int(b[i])%len(iceChars)]
	}
	return string(b)
}

// withFreshICE replaces every a=ice-ufrag and a=ice-pwd line of an offer with new random ones
// (the same in every m-section, as BUNDLE has it): the server sees a new peer each time.
func withFreshICE(offer string) string {
	ufrag, pwd := randomICE(16), randomICE(32)
	lines := strings.Split(offer, "\r\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			lines[i] = "a=ice-ufrag:" + ufrag
		case strings.HasPrefix(l, "a=ice-pwd:"):
			lines[i] = "a=ice-pwd:" + pwd
		}
	}
	return strings.Join(lines, "\r\n")
}

// pionOffer makes a recvonly video + audio offer (the steady viewers' kind) with every
// candidate gathered, and closes the PeerConnection: no remote description is ever set, so its
// ICE agent sends nothing.
func pionOffer(api *webrtc.API) (string, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	defer pc.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return "", err
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return "", err
	}
	<-gathered
	return pc.LocalDescription().SDP, nil
}

func fetchMediaStats(ctx context.Context, u, apiKey string) (*mediaStats, error) {
	if u == "" {
		return nil, fmt.Errorf("no stats URL")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %.200s", u, res.StatusCode, body)
	}
	var s mediaStats
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	return &s, nil
}

// stormPhase runs after the steady viewers connected and warmed up; it ends the run (teardown
// included) and writes one JSON line.
func stormPhase(ctx context.Context, cfg stormConfig, viewAPI *webrtc.API, pub *publisher, viewers []*viewer, conn *result) error {
	res := &stormResult{Kind: "storm", Server: cfg.label, Series: cfg.series, Viewers: len(viewers), Connected: conn.Connected,
		Refused: conn.Refused, ConnectS: conn.ConnectS, StormN: cfg.n, StormSeconds: cfg.spread.Seconds(), OfferMode: cfg.offerMode,
		ICETimeoutMS: cfg.iceTimeout.Milliseconds(), StormRefused: map[string]int{}, SessionsLeft: -1, SettledAtS: -1,
		SessionsBefore: -1, SessionsPeak: -1, SessionsAtEnd: -1, RoomAfterClose: -1}
	res.Notes = append(res.Notes, conn.Notes...)
	note := func(f string, args ...any) {
		s := fmt.Sprintf(f, args...)
		res.Notes = append(res.Notes, s)
		fmt.Fprintln(os.Stderr, "note:", s)
	}

	// The storm's offers, made before any window so that the storm window costs the generator
	// its HTTP requests only (in reuse mode).
	var offers []string
	switch cfg.offerMode {
	case "reuse":
		tmpl, err := pionOffer(viewAPI)
		if err != nil {
			return fmt.Errorf("storm offer: %w", err)
		}
		offers = make([]string, cfg.n)
		for i := range offers {
			offers[i] = withFreshICE(tmpl)
		}
	case "pion":
	default:
		return fmt.Errorf("unknown -storm-offer %q (reuse, pion)", cfg.offerMode)
	}

	// The steady viewers measured: those connected before the baseline.
	var steady []*viewer
	for _, vw := range viewers {
		if vw.err == nil && vw.connAt.Load() != 0 {
			steady = append(steady, vw)
		}
	}
	if len(steady) == 0 {
		return fmt.Errorf("no steady viewer connected")
	}

	if s, err := fetchMediaStats(ctx, cfg.statsURL, cfg.apiKey); err == nil {
		res.StatsBefore = s
		res.SessionsBefore = s.Sessions
		if want := len(steady) + 1; s.Sessions != want {
			note("before the storm the server counts %d sessions; the publisher and the connected steady viewers are %d", s.Sessions, want)
		}
	} else if cfg.statsURL != "" {
		note("GET /webRTC/stats before the storm: %v", err)
	}
	if cfg.serverPID > 0 {
		res.RSSBeforeKiB = procRSSKiB(cfg.serverPID)
		res.FDsBefore = procFDs(cfg.serverPID)
	}

	// Sampler: the server's session count and RSS every 250 ms, from the baseline on (the
	// polling costs the server the same in every window).
	var stormStart atomic.Int64 // UnixNano of the first POST; 0 before
	baseStart := time.Now()
	var tlMu sync.Mutex
	var timeline []stormSample
	stopSampler := make(chan struct{})
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			smp := stormSample{at: time.Now(), Sessions: -1}
			if s, err := fetchMediaStats(ctx, cfg.statsURL, cfg.apiKey); err == nil {
				smp.Sessions = s.Sessions
			}
			if cfg.serverPID > 0 {
				smp.RSSKiB = procRSSKiB(cfg.serverPID)
			}
			tlMu.Lock()
			timeline = append(timeline, smp)
			tlMu.Unlock()
			select {
			case <-stopSampler:
				return
			case <-tick.C:
			}
		}
	}()

	// The storm.
	posts := make([]stormPost, cfg.n)
	var inFlight, maxInFlight atomic.Int64
	var postWG sync.WaitGroup
	var lateMax time.Duration
	stormDone := make(chan struct{})
	startStorm := func() {
		t0 := time.Now()
		stormStart.Store(t0.UnixNano())
		go func() {
			defer close(stormDone)
			interval := time.Duration(0)
			if cfg.n > 1 {
				interval = cfg.spread / time.Duration(cfg.n)
			}
			for i := 0; i < cfg.n; i++ {
				due := t0.Add(time.Duration(i) * interval)
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				} else if -d > lateMax {
					lateMax = -d
				}
				postWG.Add(1)
				go func(i int) {
					defer postWG.Done()
					p := &posts[i]
					offer := ""
					if offers != nil {
						offer = offers[i]
					} else {
						o, err := pionOffer(viewAPI)
						if err != nil {
							p.err = "offer: " + err.Error()
							return
						}
						offer = o
					}
					fl := inFlight.Add(1)
					for {
						m := maxInFlight.Load()
						if fl <= m || maxInFlight.CompareAndSwap(m, fl) {
							break
						}
					}
					start := time.Now()
					p.sentAt = start.Sub(t0)
					p.status, p.err = stormPOST(ctx, cfg.endpoint, cfg.token, offer)
					p.doneAt = time.Since(t0)
					p.ms = float64(time.Since(start)) / 1e6
					inFlight.Add(-1)
				}(i)
			}
		}()
	}

	measure := func(name string, during func()) stormWindow {
		w := stormWindow{Name: name, SessionsEnd: -1, RoomViewers: -1}
		snap := func() []viewerSnap { return snapViewers(steady) }
		self := os.Getpid()
		srv0, _ := procCPUTicks(cfg.serverPID)
		gen0, _ := procCPUTicks(self)
		sd0, gd0 := udpDrops(cfg.serverUDP, cfg.serverPID)
		sc0, _ := cpuBusyTicks(cfg.serverCore)
		gc0, _ := cpuBusyTicks(cfg.genCore)
		pp0, pf0, pn0, pl0 := pub.plis.Load(), pub.forcedKeys.Load(), pub.nacks.Load(), pub.lateFrames.Load()
		afterFrame(pub)
		t0 := time.Now()
		s0 := snap()
		pv0, pa0 := pub.videoBytes.Load(), pub.audioBytes.Load()
		if during != nil {
			during()
		}
		time.Sleep(time.Until(t0.Add(cfg.window - 40*time.Millisecond)))
		afterFrame(pub)
		el := time.Since(t0).Seconds()
		s1 := snap()
		pv1, pa1 := pub.videoBytes.Load(), pub.audioBytes.Load()
		srv1, _ := procCPUTicks(cfg.serverPID)
		gen1, _ := procCPUTicks(self)
		sd1, gd1 := udpDrops(cfg.serverUDP, cfg.serverPID)
		sc1, _ := cpuBusyTicks(cfg.serverCore)
		gc1, _ := cpuBusyTicks(cfg.genCore)
		w.Seconds = el
		w.Viewers = len(steady)
		if cfg.serverPID > 0 {
			w.ServerCPU = float64(srv1-srv0) / clockTicks / el
		}
		w.GenCPU = float64(gen1-gen0) / clockTicks / el
		w.ServerCore = float64(sc1-sc0) / clockTicks / el
		w.GenCore = float64(gc1-gc0) / clockTicks / el
		w.SrvUDPDrops, w.GenUDPDrops = sd1-sd0, gd1-gd0
		w.PubVideoKbps = float64(pv1-pv0) * 8 / el / 1000
		w.PubAudioKbps = float64(pa1-pa0) * 8 / el / 1000
		w.PubPLIs, w.PubForced = pub.plis.Load()-pp0, pub.forcedKeys.Load()-pf0
		w.PubNACKs, w.PubLate = pub.nacks.Load()-pn0, pub.lateFrames.Load()-pl0
		var kbps, loss, deliv []float64
		for i, vw := range steady {
			if vw.failed.Load() {
				w.Dropped++
			}
			d0, d1 := s0[i], s1[i]
			k, l, none := windowFigures(d0, d1, el)
			kbps, loss = append(kbps, k), append(loss, l)
			if none {
				w.NoMedia++
			}
			if pv1 > pv0 {
				deliv = append(deliv, 100*float64(d1.v.cbytes-d0.v.cbytes)/float64(pv1-pv0))
			}
		}
		w.KbpsMean, w.KbpsMin, w.KbpsP5 = mean(kbps), minOf(kbps), quantile(kbps, 0.05)
		w.LossMean, w.LossMax = mean(loss), maxOf(loss)
		w.DelivMean, w.DelivMin = mean(deliv), minOf(deliv)
		if s, err := fetchMediaStats(ctx, cfg.statsURL, cfg.apiKey); err == nil {
			w.SessionsEnd = s.Sessions
		}
		if cfg.target == "liveroom" {
			if c, err := roomViewers(ctx, cfg.base, cfg.roomID); err == nil {
				w.RoomViewers = c
			}
		}
		fmt.Fprintf(os.Stderr, "storm: %-8s window %.1f s: steady viewers %.0f kbps (min %.0f), delivered %.2f%%, loss %.3f%%, server cpu %.0f%%, sessions %d\n",
			name, el, w.KbpsMean, w.KbpsMin, w.DelivMean, w.LossMean, w.ServerCPU*100, w.SessionsEnd)
		return w
	}

	res.Windows = append(res.Windows, measure("baseline", nil))
	// The publisher loops a clip whose bitrate differs from one part to another (a few % over
	// 10 s): the storm window starts one loop after the baseline's start, so that both windows
	// carry the same part of it and their bitrates compare as they are.
	if cfg.align {
		loop := pub.video.loopDuration()
		if gap := time.Until(baseStart.Add(loop)); loop >= cfg.window && gap <= 60*time.Second {
			res.GapS = gap.Seconds()
			fmt.Fprintf(os.Stderr, "storm: %.1f s until one clip loop (%.1f s) after the baseline's start\n", gap.Seconds(), loop.Seconds())
			time.Sleep(gap)
		}
	}
	res.Windows = append(res.Windows, measure("storm", startStorm))
	<-stormDone // every POST has been sent (normally long before the window ends)
	res.Windows = append(res.Windows, measure("after", nil))
	postWG.Wait()
	t0 := time.Unix(0, stormStart.Load())

	// POST outcomes.
	var lat []float64
	seenErr := map[string]bool{}
	var firstSent, lastSent, lastDone time.Duration = -1, 0, 0
	for _, p := range posts {
		if p.status == 0 && p.err == "" && p.ms == 0 {
			continue
		}
		res.Posted++
		if firstSent < 0 || p.sentAt < firstSent {
			firstSent = p.sentAt
		}
		if p.sentAt > lastSent {
			lastSent = p.sentAt
		}
		if p.doneAt > lastDone {
			lastDone = p.doneAt
		}
		if p.ms > 0 {
			lat = append(lat, p.ms)
		}
		if p.status == http.StatusCreated && p.err == "" {
			res.Created++
			continue
		}
		k := "error"
		if p.status != 0 {
			k = strconv.Itoa(p.status)
		}
		res.StormRefused[k]++
		if !seenErr[k] {
			seenErr[k] = true
			res.StormErrors = append(res.StormErrors, fmt.Sprintf("%s: %.200s", k, p.err))
		}
	}
	res.PostMsMed, res.PostMsP90, res.PostMsP99, res.PostMsMax = quantile(lat, 0.5), quantile(lat, 0.9), quantile(lat, 0.99), maxOf(lat)
	res.SendSpanS = (lastSent - firstSent).Seconds()
	res.LastReplyS = lastDone.Seconds()
	res.MaxInFlight = maxInFlight.Load()
	res.PaceLateMax = float64(lateMax) / 1e6

	// Past the ICE timeout: every storm session must be gone. The server checks its timeout on
	// a 250 ms tick; 3 s of slack on top.
	want := len(steady) + 1
	deadline := t0.Add(lastSent + cfg.iceTimeout + 3*time.Second)
	if d := time.Until(deadline); d > 0 {
		fmt.Fprintf(os.Stderr, "storm: waiting %.1f s, until %.1f s after the last storm POST (ICE timeout %d ms + 3 s)\n",
			d.Seconds(), (cfg.iceTimeout + 3*time.Second).Seconds(), cfg.iceTimeout.Milliseconds())
		time.Sleep(d)
	}
	close(stopSampler)
	<-samplerDone
	if s, err := fetchMediaStats(ctx, cfg.statsURL, cfg.apiKey); err == nil {
		res.StatsAfter = s
		res.SessionsLeft = s.Sessions
		res.LeftReadAtS = time.Since(t0).Seconds()
	} else if cfg.statsURL != "" {
		note("GET /webRTC/stats after the ICE timeout: %v", err)
	}
	if cfg.serverPID > 0 {
		res.RSSLeftKiB = procRSSKiB(cfg.serverPID)
		res.FDsLeft = procFDs(cfg.serverPID)
	}
	tlMu.Lock()
	res.Timeline = timeline
	tlMu.Unlock()
	for i := range res.Timeline {
		res.Timeline[i].T = res.Timeline[i].at.Sub(t0).Seconds()
	}
	peakIdx := -1
	for i, s := range res.Timeline {
		if s.Sessions > res.SessionsPeak {
			res.SessionsPeak, res.PeakAtS, peakIdx = s.Sessions, s.T, i
		}
		if s.RSSKiB > res.RSSPeakKiB {
			res.RSSPeakKiB = s.RSSKiB
		}
	}
	if peakIdx >= 0 {
		for _, s := range res.Timeline[peakIdx:] {
			if s.Sessions >= 0 && s.Sessions <= want {
				res.SettledAtS = s.T
				break
			}
		}
	}
	if res.SessionsLeft >= 0 && res.SessionsLeft != want {
		note("%d sessions left %.1f s after the storm's start (%.1f s after its last POST, ICE timeout %d ms); the publisher and the steady viewers are %d",
			res.SessionsLeft, res.LeftReadAtS, res.LeftReadAtS-lastSent.Seconds(), cfg.iceTimeout.Milliseconds(), want)
	}
	for _, w := range res.Windows {
		if w.Dropped > 0 || w.NoMedia > 0 {
			note("%s window: %d steady viewers dropped (ICE failed/disconnected), %d without a packet", w.Name, w.Dropped, w.NoMedia)
		}
		if w.GenCPU > 0.85 {
			note("%s window: the generator used %.0f%% of its core", w.Name, w.GenCPU*100)
		}
		if w.SrvUDPDrops > 0 || w.GenUDPDrops > 0 {
			note("%s window: the kernel dropped %d datagrams at the server's media socket, %d at the generator's", w.Name, w.SrvUDPDrops, w.GenUDPDrops)
		}
		if w.RoomViewers >= 0 && w.RoomViewers != len(steady)-w.Dropped {
			note("%s window: the room counts %d viewers; %d steady viewers are connected", w.Name, w.RoomViewers, len(steady)-w.Dropped)
		}
	}
	if res.PaceLateMax > 50 {
		note("a storm POST left up to %.0f ms behind its schedule", res.PaceLateMax)
	}

	// Teardown: the steady viewers DELETE, then the publisher; the server must be empty.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
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
	if cfg.target == "liveroom" {
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			if c, err := roomViewers(ctx, cfg.base, cfg.roomID); err == nil {
				res.RoomAfterClose = c
				if c == 0 {
					break
				}
			}
		}
	}
	pub.close()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if s, err := fetchMediaStats(ctx, cfg.statsURL, cfg.apiKey); err == nil {
			res.SessionsAtEnd = s.Sessions
			if s.Sessions == 0 {
				break
			}
		} else {
			break
		}
	}
	if res.SessionsAtEnd > 0 {
		note("%d sessions left after every steady viewer and the publisher DELETEd", res.SessionsAtEnd)
	}

	line, _ := json.Marshal(res)
	if cfg.jsonOut != "" {
		f, err := os.OpenFile(cfg.jsonOut, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		f.Write(append(line, '\n'))
		f.Close()
	}
	return printStorm(os.Stdout, res)
}

// afterFrame returns 15 ms after the publisher's next video frame went out: the frame's packets
// have reached the viewers by then (over loopback, a few ms), and the next is 33 ms away. Counters
// read at such points agree between the publisher and the viewers: read at any moment, a key
// frame (tens of KB) on its way would count as sent and not yet received, which is over 1 % of
// a 10 s window's bytes and more than the target this measures.
func afterFrame(pub *publisher) {
	f0 := pub.videoFrames.Load()
	for end := time.Now().Add(200 * time.Millisecond); pub.videoFrames.Load() == f0 && time.Now().Before(end); {
		time.Sleep(500 * time.Microsecond)
	}
	time.Sleep(15 * time.Millisecond)
}

// stormPOST posts one offer and reads the reply; the answer is never applied.
func stormPOST(ctx context.Context, endpoint, token, offer string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewBufferString(offer))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/sdp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := stormClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return res.StatusCode, strings.TrimSpace(string(body))
	}
	if !bytes.HasPrefix(body, []byte("v=0")) {
		return res.StatusCode, "201 without an SDP answer: " + string(body)
	}
	return res.StatusCode, ""
}

func printStormReport(files []string, w io.Writer) error {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			var r stormResult
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			if r.Kind != "storm" {
				continue
			}
			if err := printStorm(w, &r); err != nil {
				return err
			}
		}
	}
	return nil
}

func pct(a, b float64) float64 {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return math.NaN()
	}
	return 100 * a / b
}

func printStorm(w io.Writer, r *stormResult) error {
	ref := 0
	for _, c := range r.Refused {
		ref += c
	}
	fmt.Fprintf(w, "\n== %s, %s: %d steady viewers (%d connected, %d refused, %.1f s to connect); storm of %d WHEP POSTs over %.0f s (offers: %s); server ICE timeout %d ms ==\n",
		r.Server, r.Series, r.Viewers, r.Connected, ref, r.ConnectS, r.StormN, r.StormSeconds, r.OfferMode, r.ICETimeoutMS)
	fmt.Fprintf(w, "%-8s %5s | %6s %6s %6s | %7s %7s | %7s %7s | %6s %5s %4s %3s | %5s %5s %5s %5s | %6s %6s | %5s %5s %4s\n",
		"window", "s", "kbps", "min", "p5", "deliv%", "min", "loss%", "max", "pubkbp", "PLI", "frcd", "lat",
		"srv%", "core%", "gen%", "core%", "sdrops", "gdrops", "sess", "room", "drop")
	for _, x := range r.Windows {
		fmt.Fprintf(w, "%-8s %5.1f | %6.1f %6.1f %6.1f | %7.3f %7.3f | %7.3f %7.3f | %6.0f %5d %4d %3d | %5.1f %5.1f %5.1f %5.1f | %6d %6d | %5d %5d %4d\n",
			x.Name, x.Seconds, x.KbpsMean, x.KbpsMin, x.KbpsP5, x.DelivMean, x.DelivMin, x.LossMean, x.LossMax,
			x.PubVideoKbps+x.PubAudioKbps, x.PubPLIs, x.PubForced, x.PubLate,
			x.ServerCPU*100, x.ServerCore*100, x.GenCPU*100, x.GenCore*100, x.SrvUDPDrops, x.GenUDPDrops, x.SessionsEnd, x.RoomViewers, x.Dropped)
	}
	var base, storm, after *stormWindow
	for i := range r.Windows {
		switch r.Windows[i].Name {
		case "baseline":
			base = &r.Windows[i]
		case "storm":
			storm = &r.Windows[i]
		case "after":
			after = &r.Windows[i]
		}
	}
	verdict := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "FAILS the target"
	}
	if base != nil && storm != nil {
		raw := pct(storm.KbpsMean, base.KbpsMean)
		pubRatio := pct(storm.PubVideoKbps+storm.PubAudioKbps, base.PubVideoKbps+base.PubAudioKbps)
		norm := pct(storm.DelivMean, base.DelivMean)
		fmt.Fprintf(w, "steady viewers' bitrate, storm / baseline: %.2f%% (%.1f / %.1f kbps; the publisher sent %.2f%% as much in the storm window as in the baseline)\n",
			raw, storm.KbpsMean, base.KbpsMean, pubRatio)
		fmt.Fprintf(w, "steady viewers' delivered share (video codec bytes received / sent), storm / baseline: %.3f%% (%.3f%% / %.3f%%): a drop of %.3f%% -> %s (target: < 1 %%)\n",
			norm, storm.DelivMean, base.DelivMean, 100-norm, verdict(100-norm < 1))
		if after != nil {
			fmt.Fprintf(w, "after / baseline: bitrate %.2f%%, delivered share %.3f%%\n", pct(after.KbpsMean, base.KbpsMean), pct(after.DelivMean, base.DelivMean))
		}
		fmt.Fprintf(w, "loss (mean, worst viewer): baseline %.3f%% / %.3f%%, storm %.3f%% / %.3f%%\n", base.LossMean, base.LossMax, storm.LossMean, storm.LossMax)
		fmt.Fprintf(w, "server CPU (of one core): baseline %.1f%%, storm %.1f%% (+%.1f points), after %s\n",
			base.ServerCPU*100, storm.ServerCPU*100, (storm.ServerCPU-base.ServerCPU)*100, func() string {
				if after == nil {
					return "-"
				}
				return fmt.Sprintf("%.1f%%", after.ServerCPU*100)
			}())
	}
	var refused []string
	for k, c := range r.StormRefused {
		refused = append(refused, fmt.Sprintf("%s: %d", k, c))
	}
	sort.Strings(refused)
	refusedText := "none"
	if len(refused) > 0 {
		refusedText = strings.Join(refused, ", ")
	}
	fmt.Fprintf(w, "storm POSTs: %d sent over %.2f s (at most %.0f ms behind schedule), %d answered 201 with an SDP answer, refused/failed: %s; at most %d in flight; last reply %.2f s after the first POST\n",
		r.Posted, r.SendSpanS, r.PaceLateMax, r.Created, refusedText, r.MaxInFlight, r.LastReplyS)
	fmt.Fprintf(w, "storm POST latency (request sent to reply read): median %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		r.PostMsMed, r.PostMsP90, r.PostMsP99, r.PostMsMax)
	for _, e := range r.StormErrors {
		fmt.Fprintf(w, "  first reply of a kind: %s\n", e)
	}
	want := r.Connected + 1
	fmt.Fprintf(w, "server sessions (/webRTC/stats): %d before the storm, peak %d at %.2f s after its first POST, back to %d at %s; %d left %.1f s after the first POST -> %s (target: only the publisher and the %d steady viewers, %d)\n",
		r.SessionsBefore, r.SessionsPeak, r.PeakAtS, want, func() string {
			if r.SettledAtS < 0 {
				return "never (in the samples)"
			}
			return fmt.Sprintf("%.2f s", r.SettledAtS)
		}(), r.SessionsLeft, r.LeftReadAtS, verdict(r.SessionsLeft == want), r.Connected, want)
	if r.StatsBefore != nil && r.StatsAfter != nil {
		a, b := r.StatsAfter, r.StatsBefore
		fmt.Fprintf(w, "server counters over the storm (after - before): sessions_refused %d, sessions_failed %d, unrouted_datagrams %d, udp kernel_drops %d, send_dropped %d, send_errors %d\n",
			a.SessionsRefused-b.SessionsRefused, a.SessionsFailed-b.SessionsFailed, a.Unrouted-b.Unrouted,
			a.UDP.KernelDrops-b.UDP.KernelDrops, a.UDP.SendDropped-b.UDP.SendDropped, a.UDP.SendErrors-b.UDP.SendErrors)
	}
	fmt.Fprintf(w, "server RSS: %.1f MiB before the storm, peak %.1f MiB, %.1f MiB when the sessions left were read; fds %d before, %d then\n",
		float64(r.RSSBeforeKiB)/1024, float64(r.RSSPeakKiB)/1024, float64(r.RSSLeftKiB)/1024, r.FDsBefore, r.FDsLeft)
	fmt.Fprintf(w, "after every steady viewer and the publisher DELETEd: %d sessions, the room counts %d viewers\n", r.SessionsAtEnd, r.RoomAfterClose)
	// The session count over time, at most every second.
	if len(r.Timeline) > 0 {
		var parts []string
		lastT := math.Inf(-1)
		lo, hi := math.MaxInt, math.MinInt
		for _, s := range r.Timeline {
			if s.T < -1.5 { // the baseline and the gap: their range only
				lo, hi = min(lo, s.Sessions), max(hi, s.Sessions)
				continue
			}
			if s.T-lastT >= 0.99 {
				parts = append(parts, fmt.Sprintf("%d:%d", int(math.Round(s.T)), s.Sessions))
				lastT = s.T
			}
		}
		before := ""
		if lo <= hi {
			before = fmt.Sprintf("%d to %d before -1 s; ", lo, hi)
		}
		fmt.Fprintf(w, "sessions over time (s from the first POST:count, every 250 ms in the JSON): %s%s\n", before, strings.Join(parts, " "))
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w, "notes:")
		for _, n := range r.Notes {
			fmt.Fprintln(w, "  "+n)
		}
	}
	return nil
}
