using System.Diagnostics;
using System.Globalization;

namespace ApiPlatform.ClusterTests;

/// <summary>
/// nginx from Debian's packages as the load balancer in front of the silos, playing the Kubernetes Service. It
/// retries a request on another silo when one refuses connections or answers 502/503 — including POSTs, which is
/// safe because the load uses Idempotency-Key.
/// </summary>
public sealed class Nginx : IAsyncDisposable
{
    private readonly string _prefix = Path.Combine(Path.GetTempPath(), "cluster-nginx-" + Guid.NewGuid().ToString("N")[..8]);
    private Process? _process;

    public int Port { get; } = TestPorts.Free();

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public static string? Binary =>
        new[] { "/usr/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists);

    public async Task StartAsync(IEnumerable<int> upstreamPorts)
    {
        Directory.CreateDirectory(Path.Combine(_prefix, "logs"));
        var servers = string.Join("\n", upstreamPorts.Select(p => $"        server 127.0.0.1:{p} max_fails=0;"));
        var config = $$"""
            worker_processes 1;
            pid {{_prefix}}/nginx.pid;
            error_log {{_prefix}}/logs/error.log warn;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path {{_prefix}}/body;
                proxy_temp_path {{_prefix}}/proxy;
                fastcgi_temp_path {{_prefix}}/fastcgi;
                uwsgi_temp_path {{_prefix}}/uwsgi;
                scgi_temp_path {{_prefix}}/scgi;
                upstream silos {
            {{servers}}
                    keepalive 16;
                }
                server {
                    listen 127.0.0.1:{{Port}};
                    location / {
                        proxy_pass http://silos;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                        proxy_next_upstream error timeout http_502 http_503 non_idempotent;
                        proxy_next_upstream_tries 6;
                        proxy_connect_timeout 2s;
                        proxy_read_timeout 30s;
                    }
                }
            }
            """;
        var path = Path.Combine(_prefix, "nginx.conf");
        await File.WriteAllTextAsync(path, config);
        _process = Process.Start(new ProcessStartInfo(Binary!, ["-c", path, "-p", _prefix, "-g", "daemon off;"])
        {
            UseShellExecute = false,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("nginx did not start");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(BaseAddress, "/health"));
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException("nginx exited: " + await _process.StandardError.ReadToEndAsync());
                }

                await Task.Delay(100);
            }
        }

        throw new TimeoutException("nginx did not listen on port " + Port.ToString(CultureInfo.InvariantCulture));
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        try
        {
            Directory.Delete(_prefix, recursive: true);
        }
        catch (IOException)
        {
            // Temp files left behind are harmless.
        }
    }
}
