using System.Diagnostics;
using System.Net;

namespace ApiPlatform.ClusterTests;

/// <summary>
/// One process of the real executable (<c>src/Silo</c>'s build output, as <c>dotnet run --project src/Silo</c>
/// would run it), on its own loopback HTTP, silo and gateway ports, configured by environment variables.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string> _environment;
    private readonly string _logPath;
    private Process? _process;

    public SiloProcess(string name, Dictionary<string, string> environment, string logDirectory)
    {
        Name = name;
        HttpPort = TestPorts.Free();
        ManagementPort = TestPorts.Free();
        _environment = new Dictionary<string, string>(environment)
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{HttpPort}",
            ["Management__Urls"] = $"http://127.0.0.1:{ManagementPort}",
            ["Orleans__SiloPort"] = TestPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans__GatewayPort"] = TestPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans__SiloName"] = name,
        };
        _logPath = Path.Combine(logDirectory, name + ".log");
    }

    public string Name { get; }

    public int HttpPort { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{HttpPort}");

    /// <summary>Where the process's stdout and stderr go, line by line.</summary>
    public string LogPath => _logPath;

    /// <summary>The management listener's port (<c>/metrics</c>).</summary>
    public int ManagementPort { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The operating-system id of the running process (a restart changes it).</summary>
    public int? ProcessId => _process?.Id;

    public async Task StartAsync()
    {
        var info = new ProcessStartInfo("dotnet", [ExecutablePath()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(ExecutablePath())!,
        };
        foreach (var (key, value) in _environment)
        {
            info.Environment[key] = value;
        }

        var log = new StreamWriter(_logPath, append: true) { AutoFlush = true };
        await log.WriteLineAsync($"==== start {DateTimeOffset.UtcNow:O}");
        _process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        _process.OutputDataReceived += (_, e) => Write(log, e.Data);
        _process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitReadyAsync(TimeSpan.FromSeconds(90));
    }

    /// <summary>SIGTERM, as Kubernetes sends it: the process leaves the cluster gracefully and exits.</summary>
    public async Task StopGracefullyAsync(TimeSpan timeout)
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
    }

    /// <summary>SIGKILL: no goodbye, no flush, no membership update.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode} while starting; see {_logPath}");
            }

            try
            {
                using var response = await http.GetAsync("/health/ready");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"{Name} was not ready within {timeout}; see {_logPath}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            try
            {
                await StopGracefullyAsync(TimeSpan.FromSeconds(30));
            }
            catch (OperationCanceledException)
            {
                await KillAsync();
            }
        }

        _process?.Dispose();
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is not null)
        {
            lock (log)
            {
                log.WriteLine(line);
            }
        }
    }

    /// <summary>The executable from the build of <c>src/Silo</c> in the same configuration as these tests.</summary>
    public static string ExecutablePath()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = here.Parent!.Name; // bin/<Configuration>/net10.0/
        var path = RepositoryPaths.Of("src", "Silo", "bin", configuration, "net10.0", "ApiPlatform.Silo.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build src/Silo first", path);
    }

}
