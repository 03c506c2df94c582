using System.Threading.Channels;

namespace ApiPlatform.Gateway.Mail;

/// <summary>
/// Account work that ends in a mail runs here, after the request has answered: the answer then takes the same time
/// whatever the work finds (a password reset for an unknown email looks exactly like one for a known email), and an
/// SMTP server that is slow or down never holds up or fails a request. Bounded: when it is full a job is dropped with
/// a warning (the user can ask again). Jobs live in memory: a process that stops loses what it had not sent.
/// </summary>
public sealed class MailQueue(ILogger<MailQueue> logger) : BackgroundService
{
    public const int Capacity = 1_000;

    private readonly Channel<(string What, Func<CancellationToken, Task> Job)> _jobs =
        Channel.CreateBounded<(string, Func<CancellationToken, Task>)>(new BoundedChannelOptions(Capacity) { SingleReader = true });

    /// <summary>Queues <paramref name="job"/>; <paramref name="what"/> names it in logs (never put a secret in it).</summary>
    public void Enqueue(string what, Func<CancellationToken, Task> job)
    {
        if (!_jobs.Writer.TryWrite((what, job)))
        {
            logger.LogWarning("Mail queue full: dropped {What}", what);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var (what, job) in _jobs.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await job(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                logger.LogError(e, "Mail job {What} failed", what);
            }
        }
    }
}
