#!/usr/bin/python3
"""A plain (unencrypted) RTP session between two GStreamer rtpbins on loopback, so that real RTP
and RTCP can be recorded with sniff.py for the fuzz seed corpora (WebRTC encrypts both, and
SRTCP hides everything after the first 8 bytes).

  rtp_session.py [--seconds N] [--codec vp8|h264] [--port-base P]

The sender: VP8 or H.264 video and Opus audio, with the abs-send-time, transport-wide-cc and
sdes:mid header extensions; sender reports. The receiver: NACK and PLI on (a netsim drops a few
percent of the video), transport-wide congestion control feedback, receiver reports. Ports
P..P+7 on 127.0.0.1 (default 5000). Run with Debian's /usr/bin/python3 (python3-gi).
"""

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

EXT_TWCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
EXT_ABS = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
EXT_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--codec", choices=["vp8", "h264"], default="vp8")
    ap.add_argument("--port-base", type=int, default=5000)
    args = ap.parse_args()
    Gst.init(None)
    p = args.port_base
    exts = f"extmap-1={EXT_MID},extmap-2={EXT_ABS},extmap-3={EXT_TWCC}"
    if args.codec == "vp8":
        venc = "vp8enc deadline=1 keyframe-max-dist=30 ! rtpvp8pay pt=96 mtu=1200"
        vcaps = "encoding-name=VP8"
        vdec = "rtpvp8depay ! vp8dec"
    else:
        venc = ("x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! "
                "video/x-h264,profile=constrained-baseline ! rtph264pay pt=96 mtu=1200 config-interval=-1")
        vcaps = "encoding-name=H264"
        vdec = "rtph264depay ! avdec_h264"
    sender = Gst.parse_launch(
        f"rtpbin name=rb rtp-profile=avpf "
        f"videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! {venc} ! "
        f"application/x-rtp,{exts} ! rb.send_rtp_sink_0 "
        f"rb.send_rtp_src_0 ! udpsink host=127.0.0.1 port={p} "
        f"rb.send_rtcp_src_0 ! udpsink host=127.0.0.1 port={p + 1} sync=false async=false "
        f"udpsrc port={p + 4} ! rb.recv_rtcp_sink_0 "
        f"audiotestsrc is-live=true wave=ticks ! opusenc ! rtpopuspay pt=111 ! "
        f"application/x-rtp,{exts} ! rb.send_rtp_sink_1 "
        f"rb.send_rtp_src_1 ! udpsink host=127.0.0.1 port={p + 2} "
        f"rb.send_rtcp_src_1 ! udpsink host=127.0.0.1 port={p + 3} sync=false async=false "
        f"udpsrc port={p + 5} ! rb.recv_rtcp_sink_1")
    vrecv = (f"application/x-rtp,media=video,clock-rate=90000,{vcaps},payload=96,rtcp-fb-nack=true,"
             f"rtcp-fb-nack-pli=true,rtcp-fb-ccm-fir=true,rtcp-fb-transport-cc=true,{exts}")
    arecv = (f"application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=111,"
             f"rtcp-fb-transport-cc=true,{exts}")
    receiver = Gst.parse_launch(
        f"rtpbin name=rb rtp-profile=avpf do-retransmission=true latency=100 "
        f"udpsrc port={p} caps=\"{vrecv}\" ! netsim drop-probability=0.03 ! rb.recv_rtp_sink_0 "
        f"rb. ! {vdec} ! fakesink "
        f"udpsrc port={p + 1} ! rb.recv_rtcp_sink_0 "
        f"rb.send_rtcp_src_0 ! udpsink host=127.0.0.1 port={p + 4} sync=false async=false "
        f"udpsrc port={p + 2} caps=\"{arecv}\" ! rb.recv_rtp_sink_1 "
        f"rb. ! rtpopusdepay ! opusdec ! fakesink "
        f"udpsrc port={p + 3} ! rb.recv_rtcp_sink_1 "
        f"rb.send_rtcp_src_1 ! udpsink host=127.0.0.1 port={p + 5} sync=false async=false")
    loop = GLib.MainLoop()
    receiver.set_state(Gst.State.PLAYING)
    sender.set_state(Gst.State.PLAYING)
    GLib.timeout_add(int(args.seconds * 1000), loop.quit)
    loop.run()
    sender.send_event(Gst.Event.new_eos())
    sender.set_state(Gst.State.NULL)
    receiver.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
