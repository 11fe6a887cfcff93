//! The command line: `candela [play]`, `candela check`, `candela render`.

use crate::calibration;
use crate::control::{Engine, Pattern, Scene, slide_view};
use crate::counts::{Counts, NumberFormat, store};
use crate::osc::server::OscOptions;
use crate::output;

/// Where `candela play` listens for OSC unless told otherwise, UDP and TCP.
pub const DEFAULT_OSC_PORT: u16 = 9000;
/// Headless frame rate unless told otherwise.
const DEFAULT_FPS: u32 = 60;
use crate::render::{Gpu, HEADLESS_FORMAT, Renderer, render_image, render_output_image};
use crate::show::{Output, Show, Size, TransitionKind};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "candela",
    version,
    about = "Light projections for human-rights campaigns: portraits, names and live appeal counts"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Also write the log to this file, with timestamps: a new file each day (PATH.YYYY-MM-DD),
    /// the last 7 kept.
    #[arg(long, global = true, value_name = "PATH")]
    log_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Play a show on the projector output (the default when no command is given).
    Play(Box<PlayArgs>),
    /// Check a show for every problem: syntax, ids, counters, images, missing glyphs.
    Check {
        /// Show file, or a folder holding show.toml [default: slides/show.toml].
        show: Option<PathBuf>,
        /// Also ask each of the show's projectors over PJLink whether it answers.
        #[arg(long)]
        projectors: bool,
    },
    /// List the PJLink Class 2 projectors on the network (a search on UDP 4352).
    Projectors(ProjectorsArgs),
    /// Render one frame of a show to a PNG, with no window or display server.
    Render(RenderArgs),
    /// Send one OSC message (to a playing candela, by default) and print the reply.
    Send(SendArgs),
    /// Play the show headless on this machine's GPU under cues, and measure it: frame times,
    /// stalls, cue latency, memory, start-up.
    Bench(BenchArgs),
}

#[derive(clap::Args, Debug)]
struct BenchArgs {
    /// Show file, or a folder holding show.toml [default: slides/show.toml].
    show: Option<PathBuf>,
    /// Canvas size, for a show without [[outputs]] [default: the show's size].
    #[arg(long, value_parser = parse_size)]
    size: Option<Size>,
    /// How long to play, in seconds.
    #[arg(long, default_value_t = 10.0, value_parser = parse_seconds, allow_hyphen_values = true)]
    seconds: f64,
    /// Print the figures as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct ProjectorsArgs {
    /// Where the search goes: the broadcast address, or one projector's.
    #[arg(long, default_value = "255.255.255.255:4352")]
    to: std::net::SocketAddr,
    /// Seconds to wait for answers, 0.1 to 30.
    #[arg(long, default_value_t = 2.0, value_parser = parse_search_wait)]
    wait: f64,
}

fn parse_search_wait(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(w) if (0.1..=30.0).contains(&w) => Ok(w),
        _ => Err(format!("{s:?}: give seconds from 0.1 to 30")),
    }
}

#[derive(clap::Args, Debug)]
struct SendArgs {
    /// Where to send.
    #[arg(long, default_value = "127.0.0.1:9000")]
    to: std::net::SocketAddr,
    /// Over TCP (OSC 1.0 length-prefixed frames) instead of UDP.
    #[arg(long)]
    tcp: bool,
    /// Over TCP with OSC 1.1 SLIP frames.
    #[arg(long, conflicts_with = "tcp")]
    slip: bool,
    /// Seconds to wait for the reply.
    #[arg(long, default_value_t = 2.0)]
    timeout: f64,
    /// The OSC address, e.g. /candela/next.
    address: String,
    /// Arguments: numbers, true/false, text; force a type with i:, f: or s: (s:12.5).
    #[arg(allow_hyphen_values = true)]
    args: Vec<String>,
}

#[derive(clap::Args, Debug, Default)]
struct PlayArgs {
    /// Show file, or a folder holding show.toml [default: slides/show.toml].
    show: Option<PathBuf>,
    /// The monitor to show on, by name or by the number --list-monitors gives
    /// [default: the first that is not the primary, else the primary].
    #[arg(long)]
    monitor: Option<String>,
    /// Print the monitors (name, position, size, refresh) and exit.
    #[arg(long)]
    list_monitors: bool,
    /// Play in a normal window, for rehearsing on a desktop [default size: 1280x720].
    #[arg(long, value_name = "WxH", num_args = 0..=1, default_missing_value = "1280x720", value_parser = parse_size)]
    windowed: Option<Size>,
    /// Render offscreen with no window or display server.
    #[arg(long, conflicts_with_all = ["windowed", "monitor", "list_monitors"])]
    headless: bool,
    /// Headless: canvas size, for a show without [[outputs]] [default: the show's size].
    #[arg(long, value_parser = parse_size, requires = "headless")]
    size: Option<Size>,
    /// Headless: frames per second, 1 to 1000.
    #[arg(long, default_value_t = DEFAULT_FPS, requires = "headless", value_parser = clap::value_parser!(u32).range(1..=1000), allow_hyphen_values = true)]
    fps: u32,
    /// Headless: stop after this many seconds of show.
    #[arg(long, requires = "headless", value_parser = parse_show_seconds, allow_hyphen_values = true)]
    seconds: Option<f64>,
    /// Headless: advance the show's clock one frame per frame drawn, as fast as possible.
    #[arg(long, requires = "seconds")]
    virtual_time: bool,
    /// Headless: write the last frame to this PNG.
    #[arg(long, requires = "headless")]
    out: Option<PathBuf>,
    /// Headless: write each output's last frame (warped, masked, blended) to this folder, as
    /// NAME.png.
    #[arg(long, value_name = "DIR", requires = "headless")]
    out_dir: Option<PathBuf>,
    /// Listen for OSC on this address, UDP and TCP (repeatable) [default: 0.0.0.0:9000].
    #[arg(long, value_name = "ADDR:PORT")]
    osc: Vec<std::net::SocketAddr>,
    /// Do not listen for OSC.
    #[arg(long, conflicts_with_all = ["osc", "osc_log"])]
    no_osc: bool,
    /// Print every OSC message received and what it did.
    #[arg(long)]
    osc_log: bool,
    /// Listen for sACN on this address, when the show has [dmx] [default: 0.0.0.0:5568;
    /// multicast is joined for the show's universe].
    #[arg(long, value_name = "ADDR:PORT")]
    sacn: Option<std::net::SocketAddr>,
    /// Listen for Art-Net on this address, when the show has [dmx] [default: 0.0.0.0:6454].
    #[arg(long, value_name = "ADDR:PORT")]
    artnet: Option<std::net::SocketAddr>,
    /// Do not listen for DMX (sACN, Art-Net), even when the show has [dmx].
    #[arg(long, conflicts_with_all = ["sacn", "artnet"])]
    no_dmx: bool,
    /// Serve the web remote (page and API) on this address [default: 0.0.0.0:8080].
    #[arg(long, value_name = "ADDR:PORT")]
    http: Option<std::net::SocketAddr>,
    /// Do not serve the web remote.
    #[arg(long, conflicts_with = "http")]
    no_http: bool,
    /// Answer plain HTTP from the network too, not only HTTPS (plain is always answered from
    /// this machine itself). The PIN then crosses the network readable: only for a closed
    /// network whose phones cannot accept the remote's certificate.
    #[arg(long, conflicts_with = "no_http")]
    plain_http: bool,
    /// Where counts are kept across restarts [default: $XDG_STATE_HOME/candela, else
    /// ~/.local/state/candela].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Start from the first slide, shown, instead of where the show was when it last stopped
    /// (counts and calibration are still kept).
    #[arg(long)]
    fresh: bool,
    /// Lead other machines playing this show: relay every cue to them, timed to take effect
    /// on all at once; listen for them on this UDP address [default: 0.0.0.0:9001].
    #[arg(long, value_name = "ADDR:PORT", num_args = 0..=1, default_missing_value = "0.0.0.0:9001", conflicts_with = "follow")]
    lead: Option<std::net::SocketAddr>,
    /// Follow the leader at this sync address (HOST or HOST:PORT, port 9001 unless given):
    /// play its moment, apply what it relays, hand it the cues sent here.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_leader)]
    follow: Option<std::net::SocketAddr>,
    /// Leading: how far ahead of their arrival cues take effect, in ms, 10 to 2000 (room for
    /// the network to reach every follower in time).
    #[arg(long, value_name = "MS", default_value_t = 100, requires = "lead", value_parser = clap::value_parser!(u64).range(10..=2000))]
    sync_delay: u64,
    /// Following: the UDP address this machine talks to the leader from [default: any port].
    #[arg(long, value_name = "ADDR:PORT", requires = "follow")]
    sync_bind: Option<std::net::SocketAddr>,
    /// Headless: write a line of JSON for each frame drawn (wall clock, show time, what it
    /// showed), to compare machines in step.
    #[arg(long, value_name = "PATH", requires = "headless")]
    frame_log: Option<PathBuf>,
}

/// A leader's sync address: a host name or address, with the port or without.
fn parse_leader(s: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let with_port = if s.parse::<std::net::SocketAddr>().is_ok()
        || s.rsplit_once(':')
            .is_some_and(|(h, p)| !h.contains(':') && p.parse::<u16>().is_ok())
    {
        s.to_string()
    } else {
        format!("{s}:{}", crate::sync::DEFAULT_PORT)
    };
    with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot find the leader {s:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("{s:?} names no address"))
}

#[derive(clap::Args, Debug)]
struct RenderArgs {
    /// Show file, or a folder holding show.toml [default: slides/show.toml].
    show: Option<PathBuf>,
    /// The slide to render, by id or by 1-based position.
    #[arg(long)]
    slide: String,
    /// Render a transition from --slide to this slide (id or position).
    #[arg(long, requires = "progress")]
    to: Option<String>,
    /// How far through the transition, 0 to 1.
    #[arg(long, requires = "to", value_parser = parse_progress)]
    progress: Option<f32>,
    /// The transition to use [default: the one the show gives the --to slide].
    #[arg(long, requires = "to")]
    transition: Option<TransitionArg>,
    /// Image size as WIDTHxHEIGHT [default: the show's size; with --output, the output's].
    #[arg(long, value_parser = parse_size)]
    size: Option<Size>,
    /// Render what this projector shows, with its warp, masks and blend applied (an
    /// [[outputs]] name; `main` when the show has none) [default: the canvas, unwarped].
    #[arg(long)]
    output: Option<String>,
    /// Show a test pattern instead of the slide: grid, circles, bars, ramp, white, outputs.
    #[arg(long, value_parser = parse_pattern)]
    pattern: Option<Pattern>,
    /// The PNG file to write.
    #[arg(long)]
    out: PathBuf,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum TransitionArg {
    Cut,
    Crossfade,
    ThroughBlack,
}

impl From<TransitionArg> for TransitionKind {
    fn from(t: TransitionArg) -> Self {
        match t {
            TransitionArg::Cut => TransitionKind::Cut,
            TransitionArg::Crossfade => TransitionKind::Crossfade,
            TransitionArg::ThroughBlack => TransitionKind::ThroughBlack,
        }
    }
}

fn parse_size(s: &str) -> Result<Size, String> {
    Size::parse(s).ok_or_else(|| {
        format!(
            "expected WIDTHxHEIGHT such as 1920x1080, each side 16 to {}",
            Size::MAX_SIDE
        )
    })
}

fn seconds_within(s: &str, max: f64) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= max => Ok(v),
        _ => Err(format!(
            "expected a number of seconds from more than 0 to {max}, such as 10"
        )),
    }
}

/// The bench's length: up to an hour.
fn parse_seconds(s: &str) -> Result<f64, String> {
    seconds_within(s, 3600.0)
}

/// How long headless play lasts: up to a year of show.
fn parse_show_seconds(s: &str) -> Result<f64, String> {
    seconds_within(s, 31_536_000.0)
}

fn parse_pattern(s: &str) -> Result<Pattern, String> {
    Pattern::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Pattern::ALL.iter().map(|p| p.name()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

fn parse_progress(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err("expected a number from 0 to 1, such as 0.4".into()),
    }
}

/// The default show: `slides/` in the current folder, else the one beside the sources.
fn default_show() -> PathBuf {
    let here = Path::new("slides");
    if here.join(crate::show::SHOW_FILE).is_file() {
        here.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("slides")
    }
}

pub fn main() -> ExitCode {
    let launch = crate::bench::launched();
    let cli = Cli::parse();
    // Held to the end: dropping it writes out what the log file's writer still holds.
    let _log = init_logging(cli.log_file.as_deref());
    let result = match cli.command.unwrap_or(Command::Play(Box::new(PlayArgs {
        fps: DEFAULT_FPS,
        ..Default::default()
    }))) {
        Command::Play(args) => play(*args),
        Command::Check { show, projectors } => {
            check(&show.unwrap_or_else(default_show), projectors)
        }
        Command::Projectors(args) => projectors(args),
        Command::Render(args) => render(args),
        Command::Send(args) => send(args),
        Command::Bench(args) => bench(args, launch),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("candela: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, and to `file` too when given (daily, capped: [`crate::log_file`]); every
/// line with its time.
fn init_logging(file: Option<&Path>) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "candela=info,wgpu=error,naga=error".into())
        // The HTTP client logs whole URLs and request bytes below info, and a feed's URL or
        // header may hold an API token: never let those through.
        .add_directive("ureq=info".parse().expect("a valid directive"))
        .add_directive("ureq_proto=info".parse().expect("a valid directive"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false);
    let (to_file, guard) = match file.map(crate::log_file::DailyCapped::new) {
        Some(Ok(appender)) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .with_target(false);
            (Some(layer), Some(guard))
        }
        Some(Err(e)) => {
            eprintln!("candela: {e}; logging to stderr only");
            (None, None)
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(to_file)
        .init();
    guard
}

fn projectors(args: ProjectorsArgs) -> anyhow::Result<ExitCode> {
    let wait = std::time::Duration::from_secs_f64(args.wait);
    let found = crate::projector::probe::list(args.to, wait).map_err(|e| {
        anyhow::anyhow!(
            "cannot search for projectors on {}: {e}; give --to the network's broadcast address",
            args.to
        )
    })?;
    print!("{found}");
    Ok(ExitCode::SUCCESS)
}

fn check(path: &Path, projectors: bool) -> anyhow::Result<ExitCode> {
    let (show, problems) = crate::check::check(path);
    for p in &problems {
        println!("{p}");
    }
    let Some(show) = show else {
        return Ok(ExitCode::FAILURE);
    };
    let answered = !projectors || {
        let (lines, all) = crate::projector::probe::check(&show);
        print!("{lines}");
        all
    };
    if problems.is_empty() && !answered {
        println!(
            "{}: the show is ok; a projector does not answer or reports a fault",
            show.path.display()
        );
        Ok(ExitCode::FAILURE)
    } else if problems.is_empty() {
        println!(
            "{}: ok — {} slides, {} counters, {} at {}",
            show.path.display(),
            show.slides.len(),
            show.counters.len(),
            show.locale,
            show.size
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{}: {} problem(s)", show.path.display(), problems.len());
        Ok(ExitCode::FAILURE)
    }
}

/// Loads a show for playing or rendering: problems are printed as warnings, and only a show
/// that cannot be parsed at all stops here.
/// The show, its problems logged; they are also returned, for the web page to list.
fn load_for_output(path: &Path) -> anyhow::Result<(Show, Vec<String>)> {
    let (show, problems) = Show::load(path)?;
    for p in &problems {
        tracing::warn!("{p}");
    }
    Ok((show, problems.iter().map(|p| p.to_string()).collect()))
}

fn slide_index(show: &Show, key: &str) -> anyhow::Result<usize> {
    show.find_slide(key).ok_or_else(|| {
        let ids: Vec<&str> = show.slides.iter().map(|s| s.id.as_str()).collect();
        anyhow::anyhow!(
            "no slide {key:?} in {}; slides are {} (or their position, 1 to {})",
            show.path.display(),
            ids.join(", "),
            ids.len()
        )
    })
}

fn render(args: RenderArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (show, _) = load_for_output(&args.show.unwrap_or_else(default_show))?;
    let from = slide_index(&show, &args.slide)?;
    let numbers = NumberFormat::lenient(&show.locale);
    let counts = Counts::from_show(&show);
    let view = |i| slide_view(&show, &numbers, &counts, i);
    let scene = match (&args.to, args.progress) {
        (Some(to), Some(progress)) => {
            let to = slide_index(&show, to)?;
            let kind = args
                .transition
                .map(Into::into)
                .unwrap_or_else(|| show.transition_into(&show.slides[to]).kind);
            Scene::transition(view(from), view(to), kind, progress)
        }
        _ => Scene::still(view(from)),
    };
    let scene = Scene {
        test_pattern: args.pattern,
        ..scene
    };
    let output = match &args.output {
        Some(name) => {
            let i = show
                .outputs
                .iter()
                .position(|o| o.name == *name)
                .ok_or_else(|| {
                    let names: Vec<&str> = show.outputs.iter().map(|o| o.name.as_str()).collect();
                    anyhow::anyhow!(
                        "no output {name:?} in {}; its outputs are {}",
                        show.path.display(),
                        names.join(", ")
                    )
                })?;
            Some(i)
        }
        None => None,
    };
    let size = match output {
        Some(i) => args.size.unwrap_or(show.outputs[i].size),
        None => args.size.unwrap_or(show.size),
    };

    let gpu = Gpu::headless()?;
    let (fonts, font_problems) = crate::text::load_fonts(&show);
    for p in font_problems {
        tracing::warn!("{p}");
    }
    let mut renderer = Renderer::new(&gpu, HEADLESS_FORMAT, fonts);
    let wanted = (size.width, size.height);
    let image = match output {
        Some(i) => {
            let stage = calibrated_stage(&show);
            render_output_image(&gpu, &mut renderer, &scene, &stage, i, wanted)?
        }
        None => render_image(&gpu, &mut renderer, &scene, wanted)?,
    };
    image
        .save(&args.out)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.out.display()))?;
    tracing::info!(
        "wrote {} ({size}) in {} ms on {}",
        args.out.display(),
        started.elapsed().as_millis(),
        gpu.adapter.get_info().name
    );
    Ok(ExitCode::SUCCESS)
}

/// The calibration kept beside the show, if there is a good one; what was skipped is logged.
fn kept_calibration(show: &Show) -> Option<calibration::Loaded> {
    let path = calibration::path_for(&show.path);
    let (loaded, skipped) = calibration::load(&path);
    for s in &skipped {
        tracing::warn!("calibration: {s}");
    }
    let loaded = loaded?;
    tracing::info!("calibration restored from {}", loaded.from.display());
    Some(loaded)
}

/// The stage as it plays, with the kept calibration taken in.
fn calibrated_stage(show: &Show) -> crate::control::Stage {
    let mut stage = crate::control::Stage::new(show);
    if let Some(loaded) = kept_calibration(show) {
        for s in stage.restore(&loaded.calibration) {
            tracing::warn!("calibration {}: {s}", loaded.from.display());
        }
    }
    stage
}

/// The state folder to keep counts and the resume point in, made private; None, said why,
/// when there is none to use (the show then plays from the show file's values each start).
fn state_dir(given: Option<PathBuf>) -> Option<PathBuf> {
    let Some(dir) = given.or_else(crate::keep::default_state_dir) else {
        tracing::error!(
            "neither XDG_STATE_HOME nor HOME is set, so there is no state folder: counts and where the show was are not kept across restarts (give --state-dir DIR)"
        );
        return None;
    };
    match crate::keep::prepare_state_dir(&dir) {
        Ok(()) => Some(dir),
        // Storage may come back; the keepers say so and keep trying.
        Err(e @ crate::keep::StateDirError::Make(..)) => {
            tracing::warn!("{e}");
            Some(dir)
        }
        Err(e @ crate::keep::StateDirError::NotOurs(..)) => {
            tracing::error!("{e}");
            None
        }
    }
}

/// Raises the soft limit on open files to the hard one: the usual 1024 is what a crowd of
/// idle connections exhausts first, and a show that cannot open a photo or its state file
/// fails in ways the audience sees. The hard limit is the system's word, not ours to pass.
fn raise_file_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let (Some(soft), hard) = (limit.current, limit.maximum) else {
        return;
    };
    let wanted = hard.unwrap_or(u64::MAX);
    if soft >= wanted {
        return;
    }
    let raised = rustix::process::Rlimit {
        current: Some(wanted),
        maximum: hard,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => tracing::debug!("open files: limit raised from {soft} to {wanted}"),
        Err(e) => tracing::warn!(
            "open files: cannot raise the limit from {soft} to {wanted} ({e}); many connections at once may starve the show of files"
        ),
    }
}

fn play(args: PlayArgs) -> anyhow::Result<ExitCode> {
    raise_file_limit();
    let (mut show, problems) = load_for_output(&args.show.unwrap_or_else(default_show))?;
    resize_canvas(&mut show, args.size)?;
    let calibration_file = (!args.list_monitors).then(|| calibration::path_for(&show.path));
    let calibration = calibration_file
        .as_ref()
        .and_then(|_| kept_calibration(&show));
    let state_dir = (!args.list_monitors)
        .then(|| state_dir(args.state_dir.clone()))
        .flatten();
    let counts_file = state_dir.as_ref().map(|dir| store::file_for(dir, &show));
    let resume_file = state_dir
        .as_ref()
        .map(|dir| crate::keep::file_for(dir, &show.path, "resume"));
    let counts = match &counts_file {
        Some(file) => {
            let (counts, problem) = store::restore(file, &show);
            if let Some(p) = problem {
                tracing::warn!("{p}");
            }
            tracing::info!("counts are kept in {}", file.display());
            counts
        }
        None => Counts::from_show(&show),
    };
    let path = show.path.clone();
    let osc = (!args.no_osc && !args.list_monitors).then(|| OscOptions {
        binds: if args.osc.is_empty() {
            vec![std::net::SocketAddr::from(([0, 0, 0, 0], DEFAULT_OSC_PORT))]
        } else {
            args.osc.clone()
        },
        log: args.osc_log,
    });
    let web = (!args.no_http && !args.list_monitors).then(|| crate::web::WebOptions {
        bind: args.http.unwrap_or_else(|| {
            std::net::SocketAddr::from(([0, 0, 0, 0], crate::web::DEFAULT_PORT))
        }),
        required: args.http.is_some(),
        problems,
        state_dir: state_dir.clone(),
        plain_for_all: args.plain_http,
    });
    let mut engine = Engine::new(show, counts, Duration::ZERO)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if let Some(loaded) = &calibration {
        for s in engine.restore_calibration(&loaded.calibration) {
            tracing::warn!("calibration {}: {s}", loaded.from.display());
        }
    }
    if let Some(file) = &resume_file {
        resume(&mut engine, file, args.fresh);
    }
    let no_display = std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty())
        && std::env::var_os("WAYLAND_DISPLAY").is_none_or(|d| d.is_empty());
    if !args.headless && !args.list_monitors && no_display {
        tracing::warn!(
            "no display (DISPLAY and WAYLAND_DISPLAY are unset): playing headless; {}",
            if web.is_some() {
                "see and cue the wall on the web remote"
            } else {
                "cue it over OSC"
            }
        );
    }
    let dmx = (!args.no_dmx && !args.list_monitors).then(|| {
        let default = crate::dmx::server::DmxOptions::default();
        crate::dmx::server::DmxOptions {
            sacn: args.sacn.unwrap_or(default.sacn),
            artnet: args.artnet.unwrap_or(default.artnet),
        }
    });
    let link = output::LinkOptions {
        osc,
        web,
        dmx,
        counts_file,
        calibration_file,
        resume_file,
        watch: true,
        sync: match (args.lead, args.follow) {
            (Some(bind), _) => Some(crate::sync::SyncOptions::Lead {
                bind,
                delay: Duration::from_millis(args.sync_delay),
            }),
            (None, Some(leader)) => Some(crate::sync::SyncOptions::Follow {
                leader,
                bind: args.sync_bind.unwrap_or_else(|| {
                    let any: std::net::IpAddr = if leader.is_ipv4() {
                        std::net::Ipv4Addr::UNSPECIFIED.into()
                    } else {
                        std::net::Ipv6Addr::UNSPECIFIED.into()
                    };
                    std::net::SocketAddr::new(any, 0)
                }),
            }),
            (None, None) => None,
        },
    };
    if args.headless || (no_display && !args.list_monitors) {
        let status = output::run_headless(
            engine,
            output::HeadlessOptions {
                fps: args.fps,
                seconds: args.seconds,
                virtual_time: args.virtual_time,
                out: args.out,
                out_dir: args.out_dir,
                frame_log: args.frame_log,
            },
            link,
        )?;
        println!("{}", serde_json::to_string(&status)?);
    } else {
        output::run(
            engine,
            output::WindowOptions {
                monitor: args.monitor,
                windowed: args.windowed,
                list_monitors: args.list_monitors,
            },
            link,
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Brings the show back where it was when it last stopped, as kept in `file`; a damaged or
/// unreadable file is reported and the show starts from the top.
fn resume(engine: &mut Engine, file: &Path, fresh: bool) {
    if fresh {
        tracing::info!("--fresh: starting from the first slide");
        return;
    }
    let kept = match crate::keep::read::<crate::control::Resume>(file, "show position") {
        Ok(Some(kept)) => kept,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!("{e}; starting from the first slide");
            return;
        }
    };
    let ids: Vec<&str> = engine.show().slides.iter().map(|s| s.id.as_str()).collect();
    let (commands, skipped) = kept.commands(&ids);
    for s in skipped {
        tracing::warn!("resuming from {}: {s}", file.display());
    }
    for command in commands {
        if let Err(e) = engine.apply(command, Duration::ZERO) {
            tracing::warn!("resuming from {}: {e}", file.display());
        }
    }
    let status = engine.status();
    tracing::info!(
        "resuming where the show was: slide {:?}{}{} (--fresh starts from the top)",
        status.slide,
        if status.blackout { ", blacked out" } else { "" },
        if status.paused { ", paused" } else { "" },
    );
}

/// `--size`: the canvas of a show without `[[outputs]]` (whose one output follows it).
fn resize_canvas(show: &mut Show, size: Option<Size>) -> anyhow::Result<()> {
    let Some(size) = size else {
        return Ok(());
    };
    if show.outputs.len() != 1 || show.outputs[0].name != crate::show::DEFAULT_OUTPUT {
        anyhow::bail!(
            "--size sets the canvas of a show without [[outputs]]; {} has outputs, whose regions are in its own size {}",
            show.path.display(),
            show.size
        );
    }
    show.size = size;
    show.outputs = vec![Output::whole_canvas(size)];
    Ok(())
}

fn bench(args: BenchArgs, launch: Instant) -> anyhow::Result<ExitCode> {
    let (mut show, _) = load_for_output(&args.show.unwrap_or_else(default_show))?;
    resize_canvas(&mut show, args.size)?;
    let path = show.path.clone();
    let calibration = kept_calibration(&show);
    let counts = Counts::from_show(&show);
    let mut engine = Engine::new(show, counts, Duration::ZERO)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if let Some(loaded) = &calibration {
        for s in engine.restore_calibration(&loaded.calibration) {
            tracing::warn!("calibration {}: {s}", loaded.from.display());
        }
    }
    tracing::info!(
        "playing {} for {} s under cues...",
        path.display(),
        args.seconds
    );
    let report = crate::bench::run(engine, args.seconds, launch)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}: {} s", path.display(), args.seconds);
        println!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

fn send(args: SendArgs) -> anyhow::Result<ExitCode> {
    use crate::osc::{client, framing::Framing};
    if !args.address.starts_with('/') {
        anyhow::bail!("an OSC address starts with /, e.g. /candela/next");
    }
    let framing = match (args.tcp, args.slip) {
        (true, _) => Some(Framing::LengthPrefixed),
        (_, true) => Some(Framing::Slip),
        _ => None,
    };
    let timeout = Duration::try_from_secs_f64(args.timeout).unwrap_or(Duration::from_secs(2));
    let osc_args = args.args.iter().map(|a| client::parse_arg(a)).collect();
    let reply = client::send(args.to, framing, &args.address, osc_args, timeout)
        .map_err(|e| anyhow::anyhow!("cannot send to {}: {e}", args.to))?;
    let Some(reply) = reply else {
        eprintln!("sent; no reply from {} within {} s", args.to, args.timeout);
        if framing.is_none() {
            eprintln!(
                "(over UDP candela answers a sender not listed in its [osc] allow only with what fits in what it sent: try --tcp)"
            );
        }
        return Ok(ExitCode::from(2));
    };
    print!("{}", reply.address);
    for arg in &reply.args {
        match arg {
            rosc::OscType::String(s) => match serde_json::from_str::<serde_json::Value>(s) {
                Ok(json) => print!(" {json}"),
                Err(_) => print!(" {s:?}"),
            },
            other => print!(" {other:?}"),
        }
    }
    println!();
    let failed = reply.args.iter().any(|a| {
        matches!(a, rosc::OscType::String(s) if s.contains("\"status\":\"error\"") || s.contains("\"status\":\"denied\""))
    });
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
