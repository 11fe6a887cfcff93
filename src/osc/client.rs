//! `candela send`: one OSC message to a show (or anything that speaks OSC), and its reply,
//! so an operator can test the network and the cues without a desk.

use super::framing::{self, Framing, StreamDecoder};
use super::packet::{self, Message};
use rosc::OscType;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// An argument as typed: `i:5`, `f:1.5`, `s:12.5` and `true`/`false` say their type; else a
/// whole number is an int, a decimal a float, anything else a string.
pub fn parse_arg(text: &str) -> OscType {
    if let Some((kind, value)) = text.split_once(':') {
        match kind {
            "i" => {
                if let Ok(v) = value.parse() {
                    return OscType::Int(v);
                }
            }
            "f" => {
                if let Ok(v) = value.parse() {
                    return OscType::Float(v);
                }
            }
            "s" => return OscType::String(value.to_string()),
            _ => {}
        }
    }
    match text {
        "true" => OscType::Bool(true),
        "false" => OscType::Bool(false),
        _ => text
            .parse::<i32>()
            .map(OscType::Int)
            .or_else(|_| text.parse::<f32>().map(OscType::Float))
            .unwrap_or_else(|_| OscType::String(text.to_string())),
    }
}

/// Sends one message (over TCP with `framing`, else UDP) and waits up to `timeout` for the
/// first message that comes back. None when nothing answered in time.
pub fn send(
    to: SocketAddr,
    framing: Option<Framing>,
    address: &str,
    args: Vec<OscType>,
    timeout: Duration,
) -> std::io::Result<Option<Message>> {
    let bytes = packet::encode_message(address, args);
    let first = |data: &[u8]| {
        packet::decode(data)
            .ok()
            .and_then(|t| t.into_iter().next())
            .map(|t| t.message)
    };
    match framing {
        None => {
            let local: SocketAddr = if to.is_ipv4() {
                "0.0.0.0:0".parse().expect("valid")
            } else {
                "[::]:0".parse().expect("valid")
            };
            let socket = UdpSocket::bind(local)?;
            socket.set_broadcast(true)?;
            socket.send_to(&bytes, to)?;
            socket.set_read_timeout(Some(timeout))?;
            let mut buf = vec![0u8; 64 * 1024];
            match socket.recv_from(&mut buf) {
                Ok((n, _)) => Ok(first(&buf[..n])),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        }
        Some(framing) => {
            let mut stream = TcpStream::connect_timeout(&to, timeout)?;
            stream.write_all(&framing::encode(framing, &bytes))?;
            let end = Instant::now() + timeout;
            let mut decoder = StreamDecoder::new(64 * 1024);
            let mut buf = [0u8; 4096];
            loop {
                let left = end.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(None);
                }
                stream.set_read_timeout(Some(left))?;
                let n = match stream.read(&mut buf) {
                    Ok(0) => return Ok(None),
                    Ok(n) => n,
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        return Ok(None);
                    }
                    Err(e) => return Err(e),
                };
                let frames = decoder.push(&buf[..n]).map_err(|e| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
                })?;
                if let Some(frame) = frames.first() {
                    return Ok(first(frame));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_typed_as_an_operator_expects() {
        assert_eq!(parse_arg("5"), OscType::Int(5));
        assert_eq!(parse_arg("1.5"), OscType::Float(1.5));
        assert_eq!(parse_arg("s:12.5"), OscType::String("12.5".into()));
        assert_eq!(parse_arg("f:2"), OscType::Float(2.0));
        assert_eq!(parse_arg("i:3"), OscType::Int(3));
        assert_eq!(parse_arg("true"), OscType::Bool(true));
        assert_eq!(
            parse_arg("yorm-bopha"),
            OscType::String("yorm-bopha".into())
        );
    }
}
