/** Peer-sync framing is declared in @vsd/protocol (peer/frame.ts); re-exported for the link. */
export { encodeFrame, FrameReader, FrameTooLargeError, FRAME_HEADER, HEARTBEAT, MAX_FRAME_LIMIT } from '@vsd/protocol/peer';
