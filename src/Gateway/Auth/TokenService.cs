using System.Collections.Concurrent;
using ApiPlatform.Grains;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ApiPlatform.Gateway.Auth;

/// <summary>The claims an access token carries.</summary>
public sealed record AccessTokenClaims(string UserId, string SessionId, string Role, string Plan);

/// <summary>Issues and validates access tokens (JWT, HS256).</summary>
public sealed class TokenService
{
    private readonly JwtOptions _options;
    private readonly ApiClock _clock;
    private readonly SigningCredentials _credentials;
    private readonly TokenValidationParameters _validation;
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };

    /// <summary>
    /// Tokens this silo found valid, with their expiry. An HS256 token's signature and claims cannot change, so only
    /// its lifetime needs checking again: a request on a known token skips the signature and the JSON parsing (the
    /// largest single cost of an access-token request in the profile of bench/run-events.sh webhooks). Sessions and
    /// accounts are still checked on every request by the caller. Full at <see cref="MaxValidated"/>, it starts again
    /// empty (this only bounds memory).
    /// </summary>
    private readonly ConcurrentDictionary<string, (AccessTokenClaims Claims, DateTime Expires)> _validated = new(StringComparer.Ordinal);

    private const int MaxValidated = 20_000;

    public TokenService(IOptions<JwtOptions> options, ApiClock clock)
    {
        _options = options.Value;
        _clock = clock;
        var key = new SymmetricSecurityKey(_options.KeyBytes() ?? throw new InvalidOperationException("Jwt:SigningKey is invalid."));
        _credentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256);
        _validation = new TokenValidationParameters
        {
            ValidIssuer = _options.Issuer,
            ValidAudience = _options.Audience,
            IssuerSigningKey = key,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ClockSkew = TimeSpan.FromSeconds(30),
            LifetimeValidator = (notBefore, expires, _, p) =>
                expires is { } e && e > _clock.UtcNow.UtcDateTime - p.ClockSkew
                && (notBefore is not { } nb || nb <= _clock.UtcNow.UtcDateTime + p.ClockSkew),
            NameClaimType = JwtRegisteredClaimNames.Sub,
        };
    }

    public int AccessTokenSeconds => (int)_options.AccessTokenLifetime.TotalSeconds;

    public TimeSpan RefreshTokenLifetime => _options.RefreshTokenLifetime;

    public TimeSpan SessionMaxLifetime => _options.SessionMaxLifetime;

    public TimeSpan RefreshRetryWindow => _options.RefreshRetryWindow;

    public string CreateAccessToken(AccessTokenClaims claims)
    {
        var now = _clock.UtcNow.UtcDateTime;
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = _options.Issuer,
            Audience = _options.Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + _options.AccessTokenLifetime,
            SigningCredentials = _credentials,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = claims.UserId,
                [JwtRegisteredClaimNames.Sid] = claims.SessionId,
                [JwtRegisteredClaimNames.Jti] = Grains.Ids.RandomToken(16),
                ["role"] = claims.Role,
                ["plan"] = claims.Plan,
            },
        });
    }

    /// <summary>The token's claims, or null when it is malformed, forged, expired or not ours.</summary>
    public async Task<AccessTokenClaims?> ValidateAsync(string token)
    {
        if (token.Length > 4096)
        {
            return null;
        }

        if (_validated.TryGetValue(token, out var known))
        {
            return known.Expires > _clock.UtcNow.UtcDateTime - _validation.ClockSkew ? known.Claims : null;
        }

        var result = await _handler.ValidateTokenAsync(token, _validation);
        if (!result.IsValid)
        {
            return null;
        }

        var identity = result.ClaimsIdentity;
        string? Claim(string type) => identity.FindFirst(type)?.Value;
        if (Claim(JwtRegisteredClaimNames.Sub) is not { } sub || Claim(JwtRegisteredClaimNames.Sid) is not { } sid)
        {
            return null;
        }

        var claims = new AccessTokenClaims(sub, sid, Claim("role") ?? "user", Claim("plan") ?? "free");
        if (_validated.Count >= MaxValidated)
        {
            _validated.Clear();
        }

        _validated[token] = (claims, result.SecurityToken.ValidTo);
        return claims;
    }
}
