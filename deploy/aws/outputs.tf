# What the services' configuration needs from here, in one place.
output "configuration" {
  description = "Values for the services' configuration (deploy/README.md says which variable each is)."
  value = {
    # SIGNER_ALLOWED_HOSTS for url-signer; PHOTO_BASE_URL is https://<this>.
    photos_domain = aws_cloudfront_distribution.photos.domain_name
    # CLOUDFRONT_DISTRIBUTION_ID for media (takedown invalidations).
    distribution_id = aws_cloudfront_distribution.photos.id
    # url-signer's first key id (its entry in the key manifest); null once Terraform no longer owns it.
    initial_key_id = one(aws_cloudfront_public_key.url_signer[*].id)
    # The key group `url-signer keys rotate --key-group` maintains.
    key_group         = aws_cloudfront_key_group.url_signer.name
    api_load_balancer = aws_lb.api.dns_name
    # Register the services' pods or tasks here.
    target_groups = { for name, group in aws_lb_target_group.service : name => group.arn }
  }
}
