using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Orleans.Connections.Security;

namespace ApiPlatform.Silo.Hosting;

/// <summary>
/// TLS for Orleans' own traffic, silo to silo and gateway-role client to silo (configuration section
/// <c>Orleans:Tls</c>), for deployments where the network between the processes is not private (outside Kubernetes'
/// NetworkPolicy). Off unless a certificate is configured: from a PKCS#12 file (<see cref="CertificatePath"/>) or the
/// machine's certificate store (<see cref="StoreSubject"/>). Every process presents the certificate and, with
/// <see cref="RequireClientCertificate"/>, demands one, so only holders of a trusted certificate can join or call in.
/// </summary>
public sealed class OrleansTlsOptions
{
    public const string Section = "Orleans:Tls";

    /// <summary>A PKCS#12 (.pfx/.p12) file with the certificate and its private key.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The password of <see cref="CertificatePath"/>, if any (from a secret, never from a config map).</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>Instead of a file: the subject of a certificate in the store (<see cref="StoreName"/>, <see cref="StoreLocation"/>).</summary>
    public string? StoreSubject { get; set; }

    public StoreName StoreName { get; set; } = StoreName.My;

    public StoreLocation StoreLocation { get; set; } = StoreLocation.CurrentUser;

    /// <summary>
    /// Mutual TLS: inbound connections must present a trusted certificate too (default). False only encrypts: anyone
    /// who reaches the ports can still call grains.
    /// </summary>
    public bool RequireClientCertificate { get; set; } = true;

    /// <summary>
    /// SHA-1 thumbprints of the only certificates accepted from peers (pinning, for self-signed or private
    /// certificates; usually the one shared certificate). Empty: the operating system's chain validation decides,
    /// for certificates issued by a CA the machines trust.
    /// </summary>
    public string[] TrustedThumbprints { get; set; } = [];

    /// <summary>The host name outbound connections expect in the peer's certificate (chain validation only).</summary>
    public string? TargetHost { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath) || !string.IsNullOrWhiteSpace(StoreSubject);

    /// <summary>Loads the certificate with its private key; throws naming the setting when it cannot.</summary>
    public X509Certificate2 LoadCertificate()
    {
        if (!string.IsNullOrWhiteSpace(CertificatePath))
        {
            if (!File.Exists(CertificatePath))
            {
                throw new InvalidOperationException($"Orleans:Tls:CertificatePath '{CertificatePath}' does not exist.");
            }

            var certificate = X509CertificateLoader.LoadPkcs12FromFile(CertificatePath, CertificatePassword);
            return certificate.HasPrivateKey
                ? certificate
                : throw new InvalidOperationException($"Orleans:Tls:CertificatePath '{CertificatePath}' holds no private key.");
        }

        using var store = new X509Store(StoreName, StoreLocation);
        store.Open(OpenFlags.ReadOnly);
        var found = store.Certificates.Find(X509FindType.FindBySubjectName, StoreSubject!, validOnly: TrustedThumbprints.Length == 0)
            .FirstOrDefault(c => c.HasPrivateKey);
        return found ?? throw new InvalidOperationException(
            $"Orleans:Tls:StoreSubject '{StoreSubject}' names no certificate with a private key in {StoreLocation}/{StoreName}.");
    }

    /// <summary>Applies these settings to Orleans' <see cref="TlsOptions"/> (silo and client alike).</summary>
    public void Apply(TlsOptions tls, X509Certificate2 certificate)
    {
        tls.LocalCertificate = certificate;
        tls.RemoteCertificateMode = RequireClientCertificate ? RemoteCertificateMode.RequireCertificate : RemoteCertificateMode.AllowCertificate;
        var pinned = TrustedThumbprints.Select(Normalized).ToHashSet(StringComparer.OrdinalIgnoreCase);
        tls.RemoteCertificateValidation = (remote, _, errors) =>
            pinned.Count > 0
                // Pinned: the certificate itself is the trust; name and chain do not matter.
                ? remote is not null && pinned.Contains(remote.Thumbprint)
                : errors == SslPolicyErrors.None;
        if (TargetHost is { Length: > 0 } host)
        {
            tls.OnAuthenticateAsClient = (_, ssl) => ssl.TargetHost = host;
        }
    }

    /// <summary>A thumbprint as certificates report it: hex digits only, without the spaces or colons tools print.</summary>
    public static string Normalized(string thumbprint) =>
        thumbprint.Replace(" ", "", StringComparison.Ordinal).Replace(":", "", StringComparison.Ordinal);
}

/// <summary>
/// Checks <see cref="OrleansTlsOptions"/> at start-up: a pinned thumbprint that is not one (40 hex digits) would never
/// match, and every peer would be refused without a word about why.
/// </summary>
public sealed class OrleansTlsOptionsValidator : IValidateOptions<OrleansTlsOptions>
{
    public ValidateOptionsResult Validate(string? name, OrleansTlsOptions o) =>
        o.TrustedThumbprints.Select(OrleansTlsOptions.Normalized).FirstOrDefault(t => t.Length != 40 || !t.All(char.IsAsciiHexDigit)) is { } bad
            ? ValidateOptionsResult.Fail($"Orleans:Tls:TrustedThumbprints entry '{bad}' is not a SHA-1 thumbprint (40 hex digits).")
            : ValidateOptionsResult.Success;
}
