//! Kernel receive timestamps (`SO_TIMESTAMPNS`) for `ix bench sim-server`, so ground truth
//! starts when a request reached the socket, not when the single-threaded server got around to
//! reading it (Linux only; elsewhere the arrival is the read).

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::Interest;
use tokio::net::TcpStream;

/// `SO_TIMESTAMPNS` (= `SCM_TIMESTAMPNS`) on Linux with a 64-bit `time_t`.
const SO_TIMESTAMPNS: libc::c_int = 35;

pub(super) fn enable(stream: &TcpStream) {
    let on: libc::c_int = 1;
    // SAFETY: a valid socket and a pointer to an int of the stated size.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Reads like `read`, also returning the receive time of the data when the kernel gave one.
pub(super) async fn read(stream: &TcpStream, buf: &mut [u8]) -> std::io::Result<(usize, Option<Instant>)> {
    let fd = stream.as_raw_fd();
    stream.async_io(Interest::READABLE, || recv(fd, buf)).await
}

fn recv(fd: std::os::fd::RawFd, buf: &mut [u8]) -> std::io::Result<(usize, Option<Instant>)> {
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    let mut control = [0u64; 16];
    // SAFETY: msghdr points at our iovec and control buffer, both alive for the call; the
    // CMSG_* helpers walk only within msg_controllen as the kernel filled it.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        let n = libc::recvmsg(fd, &mut msg, 0);
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut stamp = None;
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == SO_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                stamp = Some(to_instant(&ts));
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
        Ok((n as usize, stamp))
    }
}

/// Maps a `CLOCK_REALTIME` timestamp onto the monotonic clock via the current offset.
fn to_instant(ts: &libc::timespec) -> Instant {
    let (now, wall) = (Instant::now(), SystemTime::now());
    let at = UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
    match wall.duration_since(at) {
        Ok(age) if age < Duration::from_secs(60) => now.checked_sub(age).unwrap_or(now),
        _ => now,
    }
}
