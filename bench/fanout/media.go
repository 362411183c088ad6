package main

// The publisher's media: an IVF (VP8) or an Annex-B H.264 file and an Ogg (Opus) file made at
// run time by run.sh, read whole into memory with Pion's readers, then sent in a loop at
// real-time pace.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

type videoFrame struct {
	data  []byte // what is handed to the track: a VP8 frame, or an H.264 access unit in Annex B
	key   bool   // VP8: frame tag P bit == 0; H.264: the access unit has an IDR slice (NAL type 5)
	codec int    // codec bytes that go out as RTP payload: the VP8 frame; H.264: the NAL units
	// without start codes (Pion's payloader drops access unit delimiters and filler data)
}

type videoClip struct {
	frames   []videoFrame
	frameDur time.Duration
	bytes    int // all frames' bytes (one loop)
}

func (c *videoClip) loopDuration() time.Duration { return time.Duration(len(c.frames)) * c.frameDur }

// loadIVF reads every frame of a VP8 IVF file. The frame duration comes from the frame
// timestamps (median step, in the header's timebase), or fps when they say nothing useful.
func loadIVF(path string, fps float64) (*videoClip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, hdr, err := ivfreader.NewWith(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if hdr.FourCC != "VP80" {
		return nil, fmt.Errorf("%s: codec %q, want VP80", path, hdr.FourCC)
	}
	clip := &videoClip{}
	var ts []uint64
	for {
		frame, fh, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(frame) == 0 {
			continue
		}
		clip.frames = append(clip.frames, videoFrame{data: frame, key: frame[0]&0x01 == 0, codec: len(frame)})
		clip.bytes += len(frame)
		ts = append(ts, fh.Timestamp)
	}
	if len(clip.frames) < 2 {
		return nil, fmt.Errorf("%s: only %d frames", path, len(clip.frames))
	}
	if !clip.frames[0].key {
		return nil, fmt.Errorf("%s: the first frame is not a key frame", path)
	}
	clip.frameDur = time.Duration(float64(time.Second) / fps)
	var steps []uint64
	for i := 1; i < len(ts); i++ {
		if ts[i] > ts[i-1] {
			steps = append(steps, ts[i]-ts[i-1])
		}
	}
	if len(steps) > 0 && hdr.TimebaseDenominator > 0 && hdr.TimebaseNumerator > 0 {
		sort.Slice(steps, func(a, b int) bool { return steps[a] < steps[b] })
		d := time.Duration(float64(steps[len(steps)/2]) * float64(hdr.TimebaseNumerator) / float64(hdr.TimebaseDenominator) * float64(time.Second))
		if d >= 5*time.Millisecond && d <= 200*time.Millisecond {
			clip.frameDur = d
		}
	}
	return clip, nil
}

// loadH264 reads an Annex-B H.264 byte stream with Pion's h264reader (which leaves out SEI) and
// groups its NAL units into access units, one per frame: a new one starts at an access unit
// delimiter, SPS or PPS after a slice, or at a slice whose first_mb_in_slice is 0 (the first bit
// of the slice header set: ue(v) 0 is the single bit 1). Access unit delimiters (9) and filler
// data (12) are left out, as Pion's H264Payloader would drop them. Each frame is handed to the
// track in Annex B (4-byte start codes), which the payloader splits again: SPS + PPS go out as
// one STAP-A before the IDR slice, slices larger than the MTU as FU-A. The frame duration is
// 1/fps (an elementary stream carries no timestamps).
func loadH264(path string, fps float64) (*videoClip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := h264reader.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	clip := &videoClip{frameDur: time.Duration(float64(time.Second) / fps)}
	var cur videoFrame
	hasSlice := false
	flush := func() {
		if hasSlice {
			clip.frames = append(clip.frames, cur)
			clip.bytes += cur.codec
		}
		cur, hasSlice = videoFrame{}, false
	}
	for {
		nal, err := r.NextNAL()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(nal.Data) == 0 {
			continue
		}
		t := nal.Data[0] & 0x1f
		switch {
		case t == 9 || t == 7 || t == 8: // AUD, SPS, PPS: begin an access unit after a slice
			if hasSlice {
				flush()
			}
		case t == 1 || t == 5: // a slice: first_mb_in_slice == 0 begins a new picture
			if hasSlice && len(nal.Data) > 1 && nal.Data[1]&0x80 != 0 {
				flush()
			}
		}
		if t == 9 || t == 12 {
			continue
		}
		cur.data = append(cur.data, 0, 0, 0, 1)
		cur.data = append(cur.data, nal.Data...)
		cur.codec += len(nal.Data)
		if t == 1 || t == 5 {
			hasSlice = true
		}
		if t == 5 {
			cur.key = true
		}
	}
	flush()
	if len(clip.frames) < 2 {
		return nil, fmt.Errorf("%s: only %d frames", path, len(clip.frames))
	}
	if !clip.frames[0].key || !hasNAL(clip.frames[0].data, 7) {
		return nil, fmt.Errorf("%s: the first access unit is not an IDR with its SPS", path)
	}
	return clip, nil
}

// hasNAL: whether an Annex-B access unit (4-byte start codes, as loadH264 builds them) holds a
// NAL unit of type t.
func hasNAL(au []byte, t byte) bool {
	for i := 0; i+4 < len(au); i++ {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 0 && au[i+3] == 1 && au[i+4]&0x1f == t {
			return true
		}
	}
	return false
}

// loadVideo reads the publisher's clip for the codec: vp8 (IVF) or h264 (Annex B).
func loadVideo(codec, path string, fps float64) (*videoClip, error) {
	switch codec {
	case "vp8":
		return loadIVF(path, fps)
	case "h264":
		return loadH264(path, fps)
	}
	return nil, fmt.Errorf("unknown codec %q (vp8, h264)", codec)
}

// nextKey returns the index of the first key frame at or after i (wrapping).
func (c *videoClip) nextKey(i int) int {
	for k := 0; k < len(c.frames); k++ {
		j := (i + k) % len(c.frames)
		if c.frames[j].key {
			return j
		}
	}
	return 0
}

type audioClip struct {
	packets [][]byte // one Opus packet each, 20 ms
	bytes   int
}

// loadOgg reads an Ogg Opus file made with one packet per page (oggmux max-page-delay=1),
// which is what Pion's page reader needs to hand out whole packets: a page whose granule
// step is not one 20 ms frame (960 at 48 kHz) is refused, except the last (end trimming).
func loadOgg(path string) (*audioClip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	clip := &audioClip{}
	var last uint64
	bad := 0
	for {
		page, ph, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if _, isHeader := ph.HeaderType(page); isHeader || ph.GranulePosition == 0 {
			continue
		}
		if last != 0 && ph.GranulePosition-last != 960 {
			bad++
		}
		last = ph.GranulePosition
		clip.packets = append(clip.packets, page)
		clip.bytes += len(page)
	}
	if bad > 1 {
		return nil, fmt.Errorf("%s: %d pages are not one 20 ms Opus packet each (mux with oggmux max-page-delay=1)", path, bad)
	}
	if len(clip.packets) == 0 {
		return nil, fmt.Errorf("%s: no audio packets", path)
	}
	return clip, nil
}
