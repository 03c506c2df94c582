using System.Buffers;
using System.Net;
using System.Text.RegularExpressions;
using MimeKit;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace ApiPlatform.ApiTests.Infrastructure;

/// <summary>
/// A real SMTP server (the SmtpServer package) on a free loopback port, started once for the test run: every test
/// server sends its account mail here, and tests wait for the mail to their own (unique) address and use its links.
/// </summary>
public sealed partial class TestMailServer : MessageStore
{
    private static readonly Lazy<TestMailServer> Instance = new(() => new TestMailServer());

    private readonly List<MimeMessage> _received = [];
    private readonly Lock _gate = new();

    private TestMailServer()
    {
        Port = TestPorts.Free();
        var options = new SmtpServerOptionsBuilder()
            .ServerName("localhost")
            .Endpoint(e => e.Endpoint(new IPEndPoint(IPAddress.Loopback, Port)))
            .Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(this);
        // Runs for the life of the test process.
        _ = new SmtpServer.SmtpServer(options, services).StartAsync(CancellationToken.None);
    }

    public static TestMailServer Shared => Instance.Value;

    public int Port { get; }

    public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(buffer.ToArray());
        var message = await MimeMessage.LoadAsync(stream, cancellationToken);
        lock (_gate)
        {
            _received.Add(message);
        }

        return SmtpResponse.Ok;
    }

    /// <summary>The mails received so far for <paramref name="to"/>.</summary>
    public IReadOnlyList<MimeMessage> For(string to)
    {
        lock (_gate)
        {
            return _received.Where(m => m.To.Mailboxes.Any(a => string.Equals(a.Address, to, StringComparison.OrdinalIgnoreCase))).ToList();
        }
    }

    /// <summary>Waits until <paramref name="count"/> mails for <paramref name="to"/> have arrived; returns the last.</summary>
    public async Task<MimeMessage> WaitForAsync(string to, int count = 1)
    {
        await Eventually.HoldsAsync(() => Task.FromResult(For(to).Count >= count), $"mail #{count} to {to}");
        return For(to)[count - 1];
    }

    /// <summary>The token of the link to <paramref name="path"/> in the mail's text.</summary>
    public static string TokenOf(MimeMessage mail, string path)
    {
        var match = Regex.Match(mail.TextBody ?? "", Regex.Escape(path) + @"\?token=([^\s]+)");
        Assert.True(match.Success, $"No link to {path} in: {mail.TextBody}");
        return Uri.UnescapeDataString(match.Groups[1].Value);
    }
}
