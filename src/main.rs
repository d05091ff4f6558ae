//! The `fairmark` binary: parse arguments, run the command, map the outcome to an exit code
//! (0 pass, 1 findings at or above `--fail-on`, 2 usage, config or input error).

mod cli;

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // Rust ignores SIGPIPE, so printing to a closed pipe (`fairmark checks | head -1`) would be
    // an error in every print; the default action ends the process quietly instead, as for
    // any Unix tool. Nothing is half-written by it: outputs are staged and moved into place.
    // Only commands that read local files and print do so: where a command may talk to a
    // network (object storage, a cluster, a price service), a peer that hangs up on a vectored
    // write raises SIGPIPE too, and must be an error for that connection, not a silent end of
    // the process (a cluster executor died of it in a test).
    if args.only_prints() {
        // SAFETY: called before any thread exists (parsing starts none); it changes only this
        // signal's action.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    if args.cleans_up_on_signal() {
        remove_private_dirs_on_signal();
    }
    // mimalloc asks for transparent huge pages on its arenas, and returning freed 64 KiB slices
    // of them to the OS splits them: the next touch faults in, and the kernel clears, a whole
    // 2 MiB page again. That clearing had 15% of the samples of a profile of the 1M-customer
    // audit; with huge pages off the audit took 55 s instead of 63 s and peaked lower (1.60 GB
    // against 1.80 GB).
    #[cfg(target_os = "linux")]
    // SAFETY: a flag on this process's memory map; it takes no pointers. Failure (an old
    // kernel) only leaves huge pages as they were.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    // A panic is a bug, but it must still end as one line and exit 2, and its default report
    // (which may quote whatever the failing code held) must not reach the terminal.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "fairmark: error: internal failure{location}; the input may be malformed (please report this)"
        );
    }));
    match std::panic::catch_unwind(|| cli::run(args)) {
        Ok(Ok(code)) => code,
        Ok(Err(error)) => {
            // One line, so CI logs and wrappers show the whole message, and no identifier,
            // whichever path the message took.
            let message = fairmark::error::for_terminal(&format!("{error:#}"));
            eprintln!("fairmark: error: {message}");
            ExitCode::from(cli::EXIT_ERROR)
        }
        Err(_) => ExitCode::from(cli::EXIT_ERROR),
    }
}

/// Ends the process on SIGINT, SIGTERM or SIGHUP after removing its private directories (spill
/// files hold raw rows; a signal's default action would leave them behind). The signals are
/// blocked in every thread, since all are started after this and inherit the mask, and taken by
/// one thread that waits for them. Commands a child runs start with an empty mask (the
/// standard library clears it).
fn remove_private_dirs_on_signal() {
    // SAFETY: plain calls on a signal set this function owns; called before any other thread
    // exists, so the mask is every later thread's.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, signal);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    std::thread::spawn(move || {
        let mut signal = 0;
        // SAFETY: waits on the set built above, writing the signal's number to a local.
        if unsafe { libc::sigwait(&set, &mut signal) } == 0 {
            fairmark::engine::remove_private_dirs();
            eprintln!("fairmark: stopped by a signal; its private directories were removed");
            std::process::exit(128 + signal);
        }
    });
}
