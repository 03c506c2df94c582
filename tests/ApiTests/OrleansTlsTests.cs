using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ApiPlatform.ApiTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace ApiPlatform.ApiTests;

/// <summary>
/// Orleans traffic over mutual TLS (<c>Orleans:Tls:*</c>): two silos and a gateway-role process on PostgreSQL, all
/// holding one self-signed certificate this test makes, pinned by thumbprint.
/// </summary>
public sealed class OrleansTlsTests : IAsyncLifetime
{
    private const string Password = "test-pfx-password";
    private readonly TestDatabase _database = new();
    private readonly string _pfx = Path.Combine(Path.GetTempPath(), $"orleans-tls-{Guid.NewGuid():N}.pfx");
    private readonly X509Certificate2 _certificate = CreateCertificate();
    private readonly int _siloPort = TestPorts.Free();
    private PostgresServer? _first, _second, _gateway;

    private static X509Certificate2 CreateCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=api-platform-silo", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false)); // server and client auth
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }

    public async ValueTask InitializeAsync()
    {
        if (TestDatabase.ServerConnectionString is null)
        {
            return;
        }

        await File.WriteAllBytesAsync(_pfx, _certificate.Export(X509ContentType.Pkcs12, Password), TestContext.Current.CancellationToken);
        await _database.CreateAsync();
        var signingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));
        _first = new PostgresServer(_database, signingKey, clusterId: null);
        _second = new PostgresServer(_database, signingKey, _first.ClusterId);
        _gateway = new PostgresServer(_database, signingKey, _first.ClusterId) { Overrides = { ["Orleans:Role"] = "Gateway" } };
        _first.Overrides["Orleans:SiloPort"] = _siloPort.ToString(CultureInfo.InvariantCulture);
        foreach (var server in new[] { _first, _second, _gateway })
        {
            server.Overrides["Orleans:Tls:CertificatePath"] = _pfx;
            server.Overrides["Orleans:Tls:CertificatePassword"] = Password;
            server.Overrides["Orleans:Tls:TrustedThumbprints:0"] = _certificate.Thumbprint;
        }

        await _first.StartAsync();
        await _second.StartAsync();
        await _gateway.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in new[] { _gateway, _second, _first })
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }

        await _database.DropAsync();
        File.Delete(_pfx);
        _certificate.Dispose();
    }

    [Fact]
    public async Task Two_silos_and_a_gateway_work_together_over_mutual_tls()
    {
        Assert.SkipUnless(_first is not null, "PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");

        var management = _first!.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        await Eventually.HoldsAsync(async () => (await management.GetHosts(onlyActive: true)).Count == 2, "both silos active");

        // Through the gateway role (an Orleans client over TLS), then read on the second silo.
        using var gateway = _gateway!.CreateClient();
        var user = await gateway.RegisterAsync();
        var id = (string)(await gateway.PostAsync("/v1/resources", new { name = "over tls" }, user.Token)).AssertStatus(HttpStatusCode.Created).Data["id"]!;
        using var second = _second!.CreateClient();
        Assert.Equal("over tls", (string?)(await second.GetAsync($"/v1/resources/{id}", user.Token)).AssertStatus(HttpStatusCode.OK).Data["name"]);
    }

    [Fact]
    public async Task The_silo_port_speaks_tls_with_the_configured_certificate_and_demands_one()
    {
        Assert.SkipUnless(_first is not null, "PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");

        string? presented = null;
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(IPAddress.Loopback, _siloPort, TestContext.Current.CancellationToken);
            await using var tls = new SslStream(tcp.GetStream(), false, (_, certificate, _, _) =>
            {
                presented = certificate?.GetCertHashString();
                return true;
            });
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "api-platform-silo",
                ClientCertificates = [_certificate],
            }, TestContext.Current.CancellationToken);
        }

        Assert.Equal(_certificate.Thumbprint, presented);

        // Without a client certificate the silo refuses the connection (mutual TLS).
        using var anonymous = new TcpClient();
        await anonymous.ConnectAsync(IPAddress.Loopback, _siloPort, TestContext.Current.CancellationToken);
        await using var refused = new SslStream(anonymous.GetStream(), false, (_, _, _, _) => true);
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await refused.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "api-platform-silo" }, TestContext.Current.CancellationToken);
            // TLS 1.3 reports a refused client certificate on the first read rather than in the handshake.
            var buffer = new byte[1];
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            if (await refused.ReadAsync(buffer, timeout.Token) == 0)
            {
                throw new IOException("closed");
            }
        });
    }
}
