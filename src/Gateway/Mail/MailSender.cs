using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace ApiPlatform.Gateway.Mail;

/// <summary>One account mail: recipient, subject and plain-text body.</summary>
public sealed record MailMessage(string To, string Subject, string Body);

/// <summary>
/// Sends account mail over SMTP with MailKit (<c>Email:Smtp:*</c>), or, with no SMTP host configured (the embedded
/// default), writes each message as an <c>.eml</c> file to <c>Email:PickupDirectory</c> and logs the file's path. Mails
/// carry secret tokens, so neither a mail's body nor a token ever goes into a log line.
/// </summary>
public sealed class MailSender(IOptions<EmailOptions> options, ILogger<MailSender> logger)
{
    public async Task SendAsync(MailMessage mail, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(o.From));
        message.To.Add(MailboxAddress.Parse(mail.To));
        message.Subject = mail.Subject;
        message.Body = new TextPart("plain") { Text = mail.Body };

        if (string.IsNullOrWhiteSpace(o.Smtp.Host))
        {
            Directory.CreateDirectory(o.PickupDirectory);
            var path = Path.Combine(o.PickupDirectory, $"{DateTimeOffset.UtcNow:yyyyMMddTHHmmssfff}-{Guid.NewGuid():N}.eml");
            await message.WriteToAsync(path, cancellationToken);
            if (!OperatingSystem.IsWindows())
            {
                // The file holds a secret link: readable by this service's user only.
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            logger.LogInformation("No SMTP host configured: wrote mail '{Subject}' to {Path}", mail.Subject, path);
            return;
        }

        using var client = new SmtpClient();
        var security = !o.Smtp.UseTls ? SecureSocketOptions.None
            : o.Smtp.Port == 465 ? SecureSocketOptions.SslOnConnect
            : SecureSocketOptions.StartTls;
        await client.ConnectAsync(o.Smtp.Host, o.Smtp.Port, security, cancellationToken);
        if (!string.IsNullOrEmpty(o.Smtp.Username))
        {
            await client.AuthenticateAsync(o.Smtp.Username, o.Smtp.Password ?? "", cancellationToken);
        }

        await client.SendAsync(message, cancellationToken);
        await client.DisconnectAsync(quit: true, cancellationToken);
        logger.LogInformation("Sent mail '{Subject}' ({MessageId}) over SMTP", mail.Subject, message.MessageId);
    }
}
