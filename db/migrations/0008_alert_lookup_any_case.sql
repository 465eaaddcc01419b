CREATE INDEX "systems_name_lower_idx" ON "systems" USING btree (lower("name"));--> statement-breakpoint
-- Interfaces' IP addresses in one spelling, the one the inventory now stores (inventory/ip.ts, canonicalIp):
-- IPv6 in RFC 5952's form, an IPv4-mapped address as its IPv4 address, a zone kept as written. Alerts are
-- matched in that form, so a row typed as 2001:0DB8::10 was never found by an alert naming 2001:db8::10.
-- PostgreSQL's inet writes RFC 5952's form but for an IPv4 tail (::ffff:1.2.3.4, ::1.2.3.4), which
-- canonicalIp writes in hex (::102:304); a value inet does not take is left as it is.
CREATE FUNCTION "inventory_canonical_ip"(value text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  zone text := '';
  address text := value;
  tail text[];
BEGIN
  IF value IS NULL OR position(':' IN value) = 0 THEN
    RETURN value;
  END IF;
  IF position('%' IN value) > 0 THEN
    zone := substr(value, position('%' IN value));
    address := substr(value, 1, position('%' IN value) - 1);
  END IF;
  BEGIN
    address := host(address::inet);
  EXCEPTION WHEN others THEN
    RETURN value;
  END;
  IF position(':' IN address) = 0 THEN
    RETURN value;
  END IF;
  tail := regexp_match(address, '^::ffff:(\d+)\.(\d+)\.(\d+)\.(\d+)$');
  IF tail IS NOT NULL AND zone = '' THEN
    RETURN array_to_string(tail, '.');
  END IF;
  tail := regexp_match(address, '^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$');
  IF tail IS NOT NULL THEN
    address := tail[1] || to_hex(tail[2]::int * 256 + tail[3]::int) || ':' || to_hex(tail[4]::int * 256 + tail[5]::int);
  END IF;
  RETURN address || zone;
END
$$;--> statement-breakpoint
UPDATE "interfaces" SET "ip" = inventory_canonical_ip("ip") WHERE "ip" IS DISTINCT FROM inventory_canonical_ip("ip");--> statement-breakpoint
UPDATE "interfaces" SET "gateway" = inventory_canonical_ip("gateway") WHERE "gateway" IS DISTINCT FROM inventory_canonical_ip("gateway");
