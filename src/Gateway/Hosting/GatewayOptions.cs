using System.ComponentModel.DataAnnotations;

namespace ApiPlatform.Gateway.Hosting;

/// <summary>HTTP edge settings (configuration section <c>Gateway</c>).</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>Largest accepted request body in bytes; larger ones get 413 before any grain is called.</summary>
    [Range(256, 64 * 1024 * 1024)]
    public long MaxRequestBodyBytes { get; set; } = 8 * 1024;
}
